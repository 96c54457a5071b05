/** Sets the proxy environment variables for one test and puts back what was there before. */
const NAMES = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"].flatMap((n) => [n, n.toUpperCase()]);

export function proxyEnv(): { set(vars: Record<string, string>): void; restore(): void } {
  const saved = new Map(NAMES.map((n) => [n, process.env[n]]));
  return {
    /** Clears every proxy variable, then sets `vars`. */
    set(vars) {
      for (const n of NAMES) delete process.env[n];
      Object.assign(process.env, vars);
    },
    restore() {
      for (const [n, value] of saved) {
        if (value === undefined) delete process.env[n];
        else process.env[n] = value;
      }
    },
  };
}
