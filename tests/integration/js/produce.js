// Produces `count` varied messages (keys, binary/empty/null values, headers incl. empty
// values and repeated keys (KafkaJS cannot send null header values), explicit timestamps) to partition 0 and reports what it sent.
'use strict'
const { CompressionTypes } = require('kafkajs')
const { kafkaFor, hex, main } = require('./common')

const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }

function message (i, baseTimestampMs) {
  const values = [Buffer.from(Array.from({ length: 256 }, (_, b) => b)), Buffer.alloc(0), null, Buffer.from(`js-${i}`)]
  const headers = i % 2 ? { trace: Buffer.from(`t${i}`), multi: [Buffer.from('a'), Buffer.from('b')], empty: Buffer.alloc(0) } : {}
  return {
    key: i % 3 ? Buffer.from(`key-${i}`) : null,
    value: values[i % 4],
    headers,
    timestamp: String(baseTimestampMs + i),
    partition: 0
  }
}

main(async ({ bootstrap, topic, count, acks, codec, baseTimestampMs }) => {
  const producer = kafkaFor(bootstrap).producer()
  await producer.connect()
  try {
    const messages = Array.from({ length: count }, (_, i) => message(i, baseTimestampMs))
    const metadata = await producer.send({ topic, acks, compression: CODECS[codec], messages })
    return {
      metadata: metadata.map(m => ({ partition: m.partition, errorCode: m.errorCode, baseOffset: m.baseOffset })),
      sent: messages.map(m => ({
        key: hex(m.key),
        value: hex(m.value),
        headers: Object.entries(m.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map(x => [k, hex(x)])),
        timestamp: Number(m.timestamp)
      }))
    }
  } finally {
    await producer.disconnect()
  }
})
