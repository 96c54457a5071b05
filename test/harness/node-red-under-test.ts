/**
 * Which Node-RED the tests run against, and under which node binary: the one place that reads the version-matrix
 * environment variables (scripts/matrix.sh sets them).
 *
 *   NOOJEE_NODE_RED_DIR  a directory holding node_modules/node-red (e.g. .matrix/nr3 after
 *                        `npm install --prefix .matrix/nr3 node-red@3.1`). Default: the repo's devDependency.
 *   NOOJEE_NODE_BINARY   the node binary that runs Node-RED in the end-to-end test. Default: process.execPath.
 *
 * The helper tests run Node-RED inside the mocha process, so for them the node binary is whichever runs mocha.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/** The node-red package directory under test. */
export function nodeRedDir(): string {
  const dir = process.env.NOOJEE_NODE_RED_DIR;
  if (dir === undefined || dir === "") {
    return path.dirname(require.resolve("node-red/package.json", { paths: [REPO_ROOT] }));
  }
  // No require.resolve here: from a folder inside the repo it would walk up and silently find the repo's node-red.
  const pkgDir = path.join(path.resolve(dir), "node_modules", "node-red");
  if (!fs.existsSync(path.join(pkgDir, "package.json"))) {
    throw new Error(`NOOJEE_NODE_RED_DIR=${dir}: no node_modules/node-red in it (install one with npm install --prefix)`);
  }
  return pkgDir;
}

function packageJson(): { version: string; main?: string } {
  return JSON.parse(fs.readFileSync(path.join(nodeRedDir(), "package.json"), "utf8")) as { version: string; main?: string };
}

/** Node-RED's runtime module (lib/red.js), for `helper.init()`. */
export function nodeRedPath(): string {
  return path.join(nodeRedDir(), packageJson().main ?? "lib/red.js");
}

/** Node-RED's command-line entry (red.js), for `startNodeRed({ nodeRedEntry })`. */
export function nodeRedEntry(): string {
  return path.join(nodeRedDir(), "red.js");
}

/** The node binary that runs Node-RED in a separate process. */
export function nodeBinary(): string {
  const bin = process.env.NOOJEE_NODE_BINARY;
  return bin === undefined || bin === "" ? process.execPath : path.resolve(bin);
}

/** The version of the Node-RED under test, e.g. "3.1.15". */
export function nodeRedVersion(): string {
  return packageJson().version;
}

/**
 * A module of the Node-RED under test (e.g. "@node-red/nodes/core/common/25-catch.js"), resolved from its node-red
 * package, so a test loads core nodes of the same release as the runtime.
 */
export function requireFromNodeRed<T = unknown>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(id, { paths: [nodeRedDir()] })) as T;
}
