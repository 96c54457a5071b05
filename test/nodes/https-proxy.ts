/** An https:// proxy on loopback that tunnels CONNECTs, with the certificate it is given: for TLS failure tests. */
import type http from "node:http";
import https from "node:https";
import net from "node:net";

export function httpsProxy(options: https.ServerOptions): https.Server {
  const proxy = https.createServer(options);
  proxy.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const [host, port] = String(req.url).split(":");
    const upstream = net.connect(Number(port), host, () => {
      socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  proxy.on("tlsClientError", () => undefined);
  return proxy;
}

/** Listens on a free loopback port; answers `127.0.0.1:port`. */
export async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}
