/**
 * Contract tests of a Noojee PBX server, shared by the tests' fake PBX (test/fake-pbx.test.ts) and the simulator's
 * server core (test/sim/pbx-server.test.ts): the behaviour tests of the nodes are only as good as this fake, and the
 * simulator must serve the API exactly as the fake does. Fault injection is tested in fake-pbx.test.ts.
 *
 * The suites are in test/contract/, one a concern; pbx-client.ts there is the HTTP client they (and other tests) use.
 */
import type { PbxServer, PbxServerOptions } from "../sim/pbx-server";
import { describeCallControlContract } from "./contract/call-control";
import { contractContext } from "./contract/contract-context";
import { describeEventLogContract } from "./contract/event-log";
import { describeHttpsContract } from "./contract/https";
import { describeOpenPollsContract } from "./contract/open-polls-and-stop";
import { describeRestartContract } from "./contract/restart";
import { describeSubscribeContract } from "./contract/subscribe";
import { describeTransportContract } from "./contract/transport-and-sign-in";

export * from "./contract/pbx-client";

/**
 * Registers the contract suite for servers made by `create`. The server must use the API key
 * "test-key-123e4567-e89b" unless `options.apiKey` says otherwise.
 */
export function describePbxContract(title: string, create: (options: PbxServerOptions) => PbxServer): void {
  describe(title, function () {
    const ctx = contractContext(create);
    describeTransportContract(ctx);
    describeSubscribeContract(ctx);
    describeRestartContract(ctx);
    describeCallControlContract(ctx);
    describeOpenPollsContract(ctx);
    describeHttpsContract(ctx);
    describeEventLogContract(ctx);
  });
}
