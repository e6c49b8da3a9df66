// Shared setup for the KafkaJS scenario scripts driven by test_kafkajs.py.
// Each script reads one JSON argument, prints one JSON result line on stdout and
// exits 0; anything unexpected goes to stderr with a non-zero exit code.
'use strict'
const { Kafka, logLevel } = require('kafkajs')

const DEADLINE_MS = Number(process.env.FJORD_JS_DEADLINE_MS || 90000)

// KafkaJS logs to stdout by default; keep stdout for the JSON result.
const stderrLogger = () => ({ namespace, level, log }) => {
  process.stderr.write(`kafkajs ${namespace} ${level}: ${log.message} ${log.error || ''}\n`)
}

function kafkaFor (bootstrap) {
  return new Kafka({
    clientId: 'fjord-itest',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    logCreator: stderrLogger
  })
}

// Expected failures become values the test asserts on.
function describeError (error) {
  const inner = error.errors || (error.cause ? [error.cause] : [])
  return {
    name: error.name,
    type: error.type || null,
    code: error.code === undefined ? null : error.code,
    inner: inner.map(e => ({ name: e.name, type: e.type || null, code: e.code === undefined ? null : e.code }))
  }
}

async function expectError (promise) {
  try {
    const value = await promise
    return { ok: true, value }
  } catch (error) {
    return { ok: false, error: describeError(error) }
  }
}

const hex = buffer => (buffer === null || buffer === undefined ? null : buffer.toString('hex'))

function main (scenario) {
  const args = JSON.parse(process.argv[2] || '{}')
  const timer = setTimeout(() => {
    process.stderr.write(`scenario exceeded ${DEADLINE_MS} ms\n`)
    process.exit(3)
  }, DEADLINE_MS)
  scenario(args).then(result => {
    clearTimeout(timer)
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0))
  }, error => {
    process.stderr.write(`scenario failed: ${error.stack || error}\n${JSON.stringify(describeError(error))}\n`)
    process.exit(2)
  })
}

module.exports = { kafkaFor, expectError, describeError, hex, main }
