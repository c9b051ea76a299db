// Child processes of the suite: started here, always killed here.
//
// Every process goes into `children`; `stopAll` ends them at the end of a run
// and a process 'exit' handler (plus SIGINT/SIGTERM/uncaught errors) kills
// whatever is left, so a failing test never leaves a server behind.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';

const children = new Set();

function killNow(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(signal);
  } catch {
    /* already gone */
  }
}

process.on('exit', () => {
  for (const c of children) killNow(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\n[e2e] ${sig}: stopping child processes`);
    for (const c of children) killNow(c, 'SIGKILL');
    process.exit(130);
  });
}
process.on('uncaughtException', (e) => {
  console.error('[e2e] uncaught exception:', e);
  process.exit(1); // the 'exit' handler kills the children
});
process.on('unhandledRejection', (e) => {
  console.error('[e2e] unhandled rejection:', e);
  process.exit(1);
});

/**
 * Starts a long-running process; stdout/stderr go to log files (and are kept
 * in memory for `waitForLine`). Resolves once `ready` matches a line of the
 * chosen stream, with the match.
 */
export async function startProcess({ name, cmd, args, cwd, env, logFile, ready, readyStream = 'stdout', timeoutMs = 15000 }) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const lines = { stdout: '', stderr: '' };
  let match = null;
  let onLine = null;
  for (const stream of ['stdout', 'stderr']) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk) => {
      log?.write(chunk);
      lines[stream] += chunk;
      if (stream === readyStream && onLine) onLine();
    });
  }
  child.on('exit', () => log?.end());
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onLine = null;
      reject(new Error(`${name} did not start within ${timeoutMs} ms\n--- stdout\n${lines.stdout}\n--- stderr\n${lines.stderr}`));
    }, timeoutMs);
    onLine = () => {
      const m = lines[readyStream].match(ready);
      if (m) {
        match = m;
        onLine = null;
        clearTimeout(timer);
        resolve();
      }
    };
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${name}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      if (match) return;
      clearTimeout(timer);
      reject(new Error(`${name} exited early (code ${code}, signal ${signal})\n--- stdout\n${lines.stdout}\n--- stderr\n${lines.stderr}`));
    });
    onLine();
  });
  return { child, match, name, output: lines };
}

/** Ends one process: SIGTERM, then SIGKILL after `graceMs`. Resolves when it has exited. */
export async function stopProcess(proc, graceMs = 3000) {
  const child = proc?.child ?? proc;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  killNow(child, 'SIGTERM');
  const timer = setTimeout(() => killNow(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Ends every process still running. */
export async function stopAll() {
  await Promise.all([...children].map((c) => stopProcess(c)));
}

/** Runs a command to completion; rejects on a non-zero exit. Returns stdout. */
export function run(cmd, args, { cwd, env, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code})\n${out}\n${err}`));
    });
    // A command that exits before reading its input must not crash the run.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
