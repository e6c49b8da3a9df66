// Admin API round: cluster, create (configs, duplicates, bad names, bad configs),
// describe/alter configs, create partitions, delete.
'use strict'
const { ConfigResourceTypes } = require('kafkajs')
const { kafkaFor, expectError, main } = require('./common')

main(async ({ bootstrap, topic, configs }) => {
  const admin = kafkaFor(bootstrap).admin()
  await admin.connect()
  try {
    const result = {}
    result.cluster = await admin.describeCluster()
    const configEntries = Object.entries(configs).map(([name, value]) => ({ name, value }))
    result.created = await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1, configEntries }],
      timeout: 30000
    })
    result.createdAgain = await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], timeout: 30000
    })
    result.badName = await expectError(admin.createTopics({
      topics: [{ topic: 'bad name?', numPartitions: 1, replicationFactor: 1 }], timeout: 30000
    }))
    result.badConfig = await expectError(admin.createTopics({
      topics: [{ topic: topic + '-bad', numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'segment.bytes', value: 'big' }] }],
      timeout: 30000
    }))
    result.listed = (await admin.listTopics()).includes(topic)
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
    result.partitions = metadata.topics[0].partitions.map(p => ({ partition: p.partitionId, leader: p.leader }))

    const describe = async () => {
      const described = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: Object.keys(configs) }],
        includeSynonyms: false
      })
      const resource = described.resources[0]
      return { errorCode: resource.errorCode, entries: Object.fromEntries(resource.configEntries.map(e => [e.configName, e.configValue])) }
    }
    result.describedBefore = await describe()
    result.altered = await expectError(admin.alterConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '1234567' }] }]
    }))
    result.describedAfter = await describe()
    result.badAlter = await expectError(admin.alterConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'never' }] }]
    }))
    const alterResults = result.badAlter.ok ? result.badAlter.value.resources : []
    result.badAlterCodes = alterResults.map(r => r.errorCode)

    result.grown = await expectError(admin.createPartitions({ topicPartitions: [{ topic, count: 4 }], timeout: 30000 }))
    const grown = await admin.fetchTopicMetadata({ topics: [topic] })
    result.partitionsAfterGrow = grown.topics[0].partitions.length

    await admin.deleteTopics({ topics: [topic], timeout: 30000 })
    result.listedAfterDelete = (await admin.listTopics()).includes(topic)
    return result
  } finally {
    await admin.disconnect()
  }
})
