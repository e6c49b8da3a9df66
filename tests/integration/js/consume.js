// Consumes `count` messages of a topic from the beginning in a consumer group
// (KafkaJS has no group-less consumer) and reports them.
'use strict'
const { kafkaFor, hex, main } = require('./common')

main(async ({ bootstrap, topic, groupId, count }) => {
  const consumer = kafkaFor(bootstrap).consumer({ groupId })
  await consumer.connect()
  const received = []
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await new Promise((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          received.push({
            partition,
            offset: Number(message.offset),
            key: hex(message.key),
            value: hex(message.value),
            headers: Object.entries(message.headers || {}).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map(x => [k, hex(x)])),
            timestamp: Number(message.timestamp)
          })
          if (received.length >= count) resolve()
        }
      }).catch(reject)
    })
    return { received }
  } finally {
    await consumer.disconnect()
  }
})
