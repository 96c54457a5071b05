/** The servers of one contract run: made by the server under test's factory, started on demand, stopped after each test. */
import type { PbxServer, PbxServerOptions } from "../../sim/pbx-server";

export interface ContractContext {
  /** Makes a server (not started). */
  create: (options: PbxServerOptions) => PbxServer;
  /** Makes and starts a server that is stopped after the test. */
  startPbx: (options?: PbxServerOptions) => Promise<PbxServer>;
}

/** Call inside a describe(): its afterEach stops the servers each test started. */
export function contractContext(create: (options: PbxServerOptions) => PbxServer): ContractContext {
  const running: PbxServer[] = [];

  async function startPbx(options: PbxServerOptions = {}): Promise<PbxServer> {
    const pbx = create(options);
    await pbx.start();
    running.push(pbx);
    return pbx;
  }

  afterEach(async function () {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });

  return { create, startPbx };
}
