// KafkaJS admin calls about consumer groups, run in the order given; each result (or
// error) is reported, so one call's failure does not hide the others.
// Argument: {bootstrap, ops: [{op, ...args}]} with op one of listGroups, describeGroups
// ({groupIds}), fetchOffsets ({groupId, topics, resolveOffsets}), setOffsets ({groupId,
// topic, partitions}), resetOffsets ({groupId, topic, earliest}), deleteGroups ({groupIds}).
// Group descriptions carry decoded member metadata and assignments (KafkaJS's consumer
// protocol encoding, which the test's custom assigners use too).
'use strict'
const { AssignerProtocol } = require('kafkajs')
const { kafkaFor, describeError, hex, main } = require('./common')

function decodeOrHex (decode, buffer) {
  if (!buffer || buffer.length === 0) return null
  try {
    const decoded = decode(buffer)
    return { ...decoded, userData: decoded.userData ? decoded.userData.toString() : null }
  } catch (_) {
    return { hex: hex(buffer) }
  }
}

function describedGroup (group) {
  return {
    groupId: group.groupId,
    errorCode: group.errorCode,
    state: group.state,
    protocolType: group.protocolType,
    protocol: group.protocol,
    members: group.members.map(m => ({
      memberId: m.memberId,
      clientId: m.clientId,
      metadata: decodeOrHex(AssignerProtocol.MemberMetadata.decode, m.memberMetadata),
      assignment: decodeOrHex(AssignerProtocol.MemberAssignment.decode, m.memberAssignment)
    }))
  }
}

const OPS = {
  listGroups: async admin => (await admin.listGroups()).groups,
  describeGroups: async (admin, { groupIds }) => (await admin.describeGroups(groupIds)).groups.map(describedGroup),
  fetchOffsets: async (admin, { groupId, topics, resolveOffsets }) => {
    const fetched = await admin.fetchOffsets({ groupId, topics, resolveOffsets })
    return fetched.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset, metadata }) => ({ topic, partition, offset: Number(offset), metadata })))
  },
  setOffsets: (admin, { groupId, topic, partitions }) => admin.setOffsets({ groupId, topic, partitions }),
  resetOffsets: (admin, { groupId, topic, earliest }) => admin.resetOffsets({ groupId, topic, earliest }),
  // Per-group failures come as one KafkaJSDeleteGroupsError listing them: report them as values.
  deleteGroups: async (admin, { groupIds }) => {
    try {
      return (await admin.deleteGroups(groupIds)).map(({ groupId, errorCode }) => ({ groupId, errorCode }))
    } catch (error) {
      if (error.name !== 'KafkaJSDeleteGroupsError') throw error
      return error.groups.map(({ groupId, errorCode, error: cause }) => ({ groupId, errorCode, type: cause ? cause.type : null }))
    }
  }
}

main(async ({ bootstrap, ops }) => {
  const admin = kafkaFor(bootstrap).admin()
  await admin.connect()
  try {
    const results = []
    for (const { op, ...args } of ops) {
      try {
        results.push({ op, ok: true, value: await OPS[op](admin, args) })
      } catch (error) {
        results.push({ op, ok: false, error: { ...describeError(error), message: error.message } })
      }
    }
    return results
  } finally {
    await admin.disconnect()
  }
})
