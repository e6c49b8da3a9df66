// A KafkaJS transactional producer runs three transactions over partitions 0 and 1 of
// `topic`, each also sending an offset of `source` partition 0 for `groupId`: commit,
// abort, commit. Then it reports the group's committed offset (admin fetchOffsets) and what
// a read_committed KafkaJS consumer (readUncommitted: false, the default) reads, until it
// has seen every value of the last committed transaction.
'use strict'
const { kafkaFor, main } = require('./common')

const PER_PARTITION = 5

function messagesOf (tag) {
  return [0, 1].flatMap(partition => Array.from({ length: PER_PARTITION }, (_, i) => ({
    partition, value: `${tag}-${partition}-${i}`
  })))
}

async function runTransaction (producer, { topic, source, groupId }, tag, offset, commit) {
  const transaction = await producer.transaction()
  await transaction.send({ topic, messages: messagesOf(tag) })
  await transaction.sendOffsets({
    consumerGroupId: groupId,
    topics: [{ topic: source, partitions: [{ partition: 0, offset: String(offset) }] }]
  })
  if (commit) {
    await transaction.commit()
  } else {
    await transaction.abort()
  }
}

async function readCommitted (kafka, { topic, readerGroupId }, lastValues) {
  const consumer = kafka.consumer({ groupId: readerGroupId, readUncommitted: false, maxWaitTimeInMs: 500 })
  await consumer.connect()
  const received = []
  const missing = new Set(lastValues)
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await new Promise((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          const value = message.value.toString()
          received.push({ partition, offset: Number(message.offset), value })
          missing.delete(value)
          if (missing.size === 0) resolve()
        }
      }).catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return received
}

main(async (args) => {
  const kafka = kafkaFor(args.bootstrap)
  const producer = kafka.producer({ transactionalId: args.transactionalId, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    await runTransaction(producer, args, 'c1', 3, true)
    await runTransaction(producer, args, 'ab', 6, false)
    await runTransaction(producer, args, 'c2', 5, true)
  } finally {
    await producer.disconnect()
  }
  const admin = kafka.admin()
  await admin.connect()
  let offsets
  try {
    offsets = await admin.fetchOffsets({ groupId: args.groupId, topics: [args.source] })
  } finally {
    await admin.disconnect()
  }
  const received = await readCommitted(kafka, args, messagesOf('c2').map(m => m.value))
  return { offsets, received }
})
