/**
 * Certificates made at test time with the openssl command (in Debian's base image and CI's): a private CA, and
 * server certificates a PBX may really have: self-signed, from that CA (trusted or not), expired, for another name.
 * EC keys, so that making them all takes well under a second.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface ServerTls {
  key: Buffer;
  cert: Buffer;
}

export interface TestCerts {
  dir: string;
  /** The CA's certificate file (for NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** Self-signed, for 127.0.0.1. */
  selfSigned: ServerTls;
  /** From the CA, for 127.0.0.1, sent alone. */
  fromCa: ServerTls;
  /** The same, sent with the CA's certificate (a chain ending in a self-signed root). */
  fromCaWithRoot: ServerTls;
  /** From the CA, for 127.0.0.1, valid for one day in 2020. */
  expired: ServerTls;
  /** From the CA, for pbx.example.invalid only. */
  otherName: ServerTls;
}

const CA_CONFIG = `[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
`;

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export function makeTestCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-tls-"));
  const run = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  };
  const read = (name: string): Buffer => fs.readFileSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, "ca.cnf"), CA_CONFIG);
  fs.writeFileSync(path.join(dir, "index.txt"), "");
  fs.writeFileSync(path.join(dir, "serial"), "01\n");
  run("req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Noojee test CA");
  run("req", "-x509", ...EC, "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1");
  const leaf = (name: string, subject: string, san: string, dates: string[]): ServerTls => {
    run("req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject, "-addext", `subjectAltName=${san}`);
    run("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", `${name}.csr`,
      "-out", `${name}.pem`, "-notext", ...dates);
    return { key: read(`${name}.key`), cert: read(`${name}.pem`) };
  };
  const fromCa = leaf("leaf", "/CN=127.0.0.1", "IP:127.0.0.1", ["-days", "2"]);
  return {
    dir,
    caFile: path.join(dir, "ca.pem"),
    selfSigned: { key: read("self.key"), cert: read("self.pem") },
    fromCa,
    fromCaWithRoot: { key: fromCa.key, cert: Buffer.concat([fromCa.cert, read("ca.pem")]) },
    expired: leaf("expired", "/CN=127.0.0.1", "IP:127.0.0.1", ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]),
    otherName: leaf("other", "/CN=pbx.example.invalid", "DNS:pbx.example.invalid", ["-days", "2"]),
  };
}

/** Reads back what makeTestCerts wrote in `dir` (for a child process). */
export function serverTls(dir: string, name: "leaf" | "other"): ServerTls {
  return { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.pem`)) };
}
