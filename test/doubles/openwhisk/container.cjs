'use strict';
// One action container of the OpenWhisk test double: the Node.js runtime's action proxy contract: /init gets {value: {name, main, code, binary}} once, /run gets
// {value: params, activation_id, action_name, namespace, deadline} per activation; the runtime writes the sentinel
// line on stdout and stderr after each activation so that the invoker can cut the logs. Messages here travel over
// the fork IPC channel instead of HTTP on port 8080; their shapes are the proxy's.
const { mkdtempSync, writeFileSync, existsSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { unzipTo } = require('./unzip.cjs');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
let main = null;

function errText(e) {
  return e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e);
}

async function init(value) {
  const dir = mkdtempSync(join(tmpdir(), 'owd-action-'));
  let mod;
  if (value.binary) {
    unzipTo(Buffer.from(value.code, 'base64'), dir);
    const pkg = join(dir, 'package.json');
    let entry = join(dir, 'index.js');
    if (existsSync(pkg)) {
      const m = JSON.parse(readFileSync(pkg, 'utf8')).main;
      if (typeof m === 'string') entry = join(dir, m);
    }
    if (!existsSync(entry)) throw new Error('Zipped actions must contain either package.json or index.js at the root.');
    mod = require(entry);
  } else {
    const file = join(dir, 'action.js');
    writeFileSync(file, value.code + '\n;if (typeof main === "function" && !module.exports.main) module.exports.main = main;\n');
    mod = require(file);
  }
  const fn = mod[value.main || 'main'];
  if (typeof fn !== 'function') throw new Error('Action entrypoint \'' + (value.main || 'main') + '\' is not a function.');
  main = fn;
}

process.on('message', async (m) => {
  if (m.type === 'init') {
    try {
      await init(m.value);
      process.send({ type: 'init', ok: true });
    } catch (e) {
      process.send({ type: 'init', ok: false, error: 'Initialization has failed due to: ' + (e && e.stack ? e.stack : errText(e)) });
    }
    return;
  }
  if (m.type === 'run') {
    process.env.__OW_ACTIVATION_ID = m.activation_id;
    process.env.__OW_ACTION_NAME = m.action_name;
    process.env.__OW_NAMESPACE = m.namespace;
    process.env.__OW_DEADLINE = String(m.deadline);
    let reply;
    try {
      const result = await main(m.value);
      reply = { type: 'run', ok: true, result: result === undefined ? {} : result };
    } catch (e) {
      reply = { type: 'run', ok: false, error: 'An error has occurred: ' + errText(e) };
    }
    process.stdout.write(SENTINEL + '\n');
    process.stderr.write(SENTINEL + '\n');
    process.send(reply);
  }
});
process.send({ type: 'ready' });
