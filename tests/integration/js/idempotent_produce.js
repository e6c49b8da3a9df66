// An idempotent KafkaJS producer sends `sends` batches of `perSend` keyed messages, one
// send after the other (KafkaJS keeps per-partition order only with one request in flight),
// and reports the values in the order they were sent.
'use strict'
const { kafkaFor, main } = require('./common')

main(async ({ bootstrap, topic, sends, perSend }) => {
  const producer = kafkaFor(bootstrap).producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const sent = []
  const metadata = []
  try {
    for (let s = 0; s < sends; s++) {
      const messages = Array.from({ length: perSend }, (_, i) => {
        const n = s * perSend + i
        return { key: `key-${n % 97}`, value: `js-${n}` }
      })
      const reports = await producer.send({ topic, acks: -1, messages })
      messages.forEach(m => sent.push(m.value))
      reports.forEach(r => metadata.push({ partition: r.partition, errorCode: r.errorCode, baseOffset: r.baseOffset }))
    }
    return { sent, metadata }
  } finally {
    await producer.disconnect()
  }
})
