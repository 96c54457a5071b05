/**
 * Why a phonebook file cannot be read, as the config node's warning puts it: the kind chosen by the error's code, and
 * the file's path left out of the detail (the warning names it already). The permission case is checked here because
 * the node test cannot refuse a file to root.
 */
import assert from "node:assert/strict";
import { fileProblem } from "../../nodes/lib/numbers/caller-info";

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe("phonebook file problems", () => {
  const file = "/data/book.json";

  it("permission denied (EACCES, EPERM) is deniedFile, with no raw text", () => {
    assert.deepEqual(fileProblem(errno("EACCES", `EACCES: permission denied, open '${file}'`), file), { kind: "deniedFile", where: file });
    assert.deepEqual(fileProblem(errno("EPERM", `EPERM: operation not permitted, open '${file}'`), file), { kind: "deniedFile", where: file });
  });

  it("a directory (EISDIR) is directoryFile", () => {
    assert.deepEqual(fileProblem(errno("EISDIR", "EISDIR: illegal operation on a directory, read"), file), { kind: "directoryFile", where: file });
  });

  it("any other error keeps what happened without the path", () => {
    assert.deepEqual(fileProblem(errno("EIO", `EIO: i/o error, read '${file}'`), file), { kind: "unreadableFile", where: file, value: "EIO: i/o error, read" });
  });
});
