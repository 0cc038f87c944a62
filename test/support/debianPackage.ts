/**
 * A server binary from Debian's packages, for the suites that run one (redis-server, pgbouncer):
 * found on PATH or in sbin; missing, installed when we are root (`npm test` alone must pass on a
 * fresh machine); otherwise the suite fails with one line saying what to install.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { delimiter, join } from "node:path"

const findOnPath = (binary: string) =>
  [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"]
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, binary))
    .find((candidate) => existsSync(candidate))

/** The path of `binary`, installing Debian's `pkg` first if it is missing and we may (root). */
export const debianBinary = (binary: string, pkg: string): string => {
  const found = findOnPath(binary)
  if (found !== undefined) return found
  const installArgs = ["install", "-y", "--no-install-recommends", pkg]
  // Suites run in parallel: a second install waits for the first one's dpkg lock.
  const lockWait = ["-o", "DPkg::Lock::Timeout=300"]
  const install = `apt-get ${installArgs.join(" ")}`
  if (process.getuid?.() !== 0) {
    throw new Error(`${binary} is not installed: run \`${install}\` (Debian/Ubuntu) as root`)
  }
  const apt = (args: ReadonlyArray<string>) =>
    spawnSync("apt-get", [...lockWait, ...args], {
      stdio: "pipe",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    })
  // The package lists may be missing or stale on a fresh machine: update once, then try again.
  if (apt(installArgs).status !== 0) {
    apt(["update"])
    const second = apt(installArgs)
    if (second.status !== 0) {
      throw new Error(`${binary} is missing and \`${install}\` failed: ${second.stderr.toString().trim()}`)
    }
  }
  const installed = findOnPath(binary)
  if (installed === undefined) throw new Error(`${binary} is still missing after \`${install}\``)
  return installed
}
