/** Writing HTTP answers: JSON envelopes, plain text, and HTML error pages like the PBX's servlet container (Tomcat). */
import type * as http from "node:http";

/** An HTML error page in the style of the servlet container (Apache Tomcat) the PBX runs in. */
export function htmlErrorPage(status: number, title: string, detail: string): string {
  return (
    `<!doctype html><html lang="en"><head><title>HTTP Status ${status} – ${title}</title></head>` +
    `<body><h1>HTTP Status ${status} – ${title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>` +
    `<p><b>Description</b> ${detail}</p><hr class="line" /><h3>Apache Tomcat</h3></body></html>`
  );
}

export const NOT_FOUND_PAGE = htmlErrorPage(
  404,
  "Not Found",
  "The origin server did not find a current representation for the target resource.",
);

export function sendRaw(res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { ...extra, "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: http.ServerResponse, status: number, body: object): void {
  sendRaw(res, status, "application/json", JSON.stringify(body));
}

export function sendHtml(res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  sendRaw(res, status, "text/html;charset=utf-8", body, extra);
}

export function sendText(res: http.ServerResponse, status: number, body: string): void {
  sendRaw(res, status, "text/plain;charset=utf-8", body);
}
