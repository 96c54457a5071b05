// proxy-from-env 2.x ships no types; this is the one function we use.
declare module "proxy-from-env" {
  /** The proxy URL for `url` from *_proxy / no_proxy (lower case first), or "" to connect directly. */
  export function getProxyForUrl(url: string | URL): string;
}
