// ListOffsets (earliest/latest, by timestamp) and DeleteRecords through the admin API.
'use strict'
const { kafkaFor, expectError, main } = require('./common')

main(async ({ bootstrap, topic, timestamps, deleteBefore }) => {
  const admin = kafkaFor(bootstrap).admin()
  await admin.connect()
  try {
    const result = {}
    result.before = await admin.fetchTopicOffsets(topic)
    result.byTimestamp = {}
    for (const ts of timestamps) {
      result.byTimestamp[ts] = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
    }
    result.deleted = await expectError(admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(deleteBefore) }] }))
    result.after = await admin.fetchTopicOffsets(topic)
    return result
  } finally {
    await admin.disconnect()
  }
})
