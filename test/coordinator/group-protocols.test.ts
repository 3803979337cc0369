// Proves protocol handling of the group coordinator: a member with no protocol in common with the
// group, or another protocol type, is refused with INCONSISTENT_GROUP_PROTOCOL; the group picks the
// protocol most members prefer among those all support; and DescribeGroups / ListGroups report
// the group as Kafka does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSubscription } from '../../src/coordinator/consumer-protocol.ts';
import { ErrorCode } from '../../src/coordinator/error-codes.ts';
import { Harness, consumerProtocols, settled } from './group-harness.ts';

describe('protocol compatibility', () => {
  it('refuses a member with no protocol in common with the group', () => {
    const harness = new Harness();
    harness.formGroup('g', 1, { protocols: consumerProtocols(['range']) });
    const refused = harness.join('g', { protocols: consumerProtocols(['roundrobin']) });
    assert.equal(settled(refused).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(harness.coordinator.exportGroup('g')?.members.length, 1);
  });

  it('refuses a member of another protocol type', () => {
    const harness = new Harness();
    harness.formGroup('g', 1);
    const refused = harness.join('g', { protocolType: 'connect' });
    assert.equal(settled(refused).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('refuses a first member without protocols or protocol type, leaving no group behind', () => {
    const harness = new Harness();
    assert.equal(settled(harness.join('g', { protocols: [] })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(settled(harness.join('g', { protocolType: '' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.deepEqual(harness.coordinator.listGroups(), []);
  });

  it('refuses a SyncGroup naming another protocol', () => {
    const harness = new Harness();
    const { memberIds, generationId } = harness.formGroup('g', 1);
    const sync = harness.coordinator.syncGroup(
      { groupId: 'g', generationId, memberId: memberIds[0]!, groupInstanceId: null, protocolType: 'consumer', protocolName: 'sticky', assignments: [] },
      harness.nowMs,
    );
    assert.equal(settled(sync).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });
});

describe('protocol selection', () => {
  function electedProtocol(preferences: string[][]): string | null {
    const harness = new Harness();
    const joins = preferences.map((names) => harness.joinNew('g', { protocols: consumerProtocols(names) }));
    harness.settleJoinPhase('g');
    for (const { join } of joins) assert.equal(settled(join).errorCode, ErrorCode.NONE);
    return settled(joins[0]!.join).protocolName;
  }

  it('picks the protocol with the most first-choice votes among the common ones', () => {
    assert.equal(electedProtocol([['range', 'roundrobin'], ['roundrobin', 'range'], ['roundrobin', 'range', 'sticky']]), 'roundrobin');
    assert.equal(electedProtocol([['range', 'roundrobin'], ['range', 'roundrobin'], ['roundrobin', 'range']]), 'range');
  });

  it('only counts protocols every member supports', () => {
    // sticky is the favourite of three members, but the last one does not support it.
    assert.equal(electedProtocol([['sticky', 'range'], ['sticky', 'range'], ['sticky', 'range'], ['range']]), 'range');
  });

  it('gives the leader each member’s metadata for the chosen protocol', () => {
    const harness = new Harness();
    const leader = harness.joinNew('g', { protocols: consumerProtocols(['range', 'roundrobin'], ['a']) });
    harness.joinNew('g', { protocols: consumerProtocols(['roundrobin', 'range'], ['b']) });
    harness.joinNew('g', { protocols: consumerProtocols(['roundrobin'], ['c']) });
    harness.settleJoinPhase('g');
    const result = settled(leader.join);
    assert.equal(result.protocolName, 'roundrobin');
    assert.deepEqual(
      result.members.map((member) => decodeSubscription(member.metadata).topics),
      [['a'], ['b'], ['c']],
    );
    assert.deepEqual(result.members.map((member) => decodeSubscription(member.metadata).userData?.toString()), ['roundrobin', 'roundrobin', 'roundrobin']);
  });
});

describe('describe and list', () => {
  it('describes a stable group with metadata and assignments, and an unknown one as Dead', () => {
    const harness = new Harness();
    const { memberIds } = harness.formGroup('g', 2);
    const [described, missing] = harness.coordinator.describeGroups(['g', 'nope']);
    assert.equal(described?.errorCode, ErrorCode.NONE);
    assert.equal(described?.groupState, 'Stable');
    assert.equal(described?.protocolType, 'consumer');
    assert.equal(described?.protocolData, 'range');
    assert.deepEqual(described?.members.map((member) => member.memberId), memberIds);
    assert.deepEqual(described?.members.map((member) => [...member.memberAssignment]), [[0], [1]]);
    assert.deepEqual(decodeSubscription(described!.members[0]!.memberMetadata).topics, ['orders']);
    assert.equal(missing?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(missing?.groupState, 'Dead');
  });

  it('hides metadata while rebalancing, as Kafka does', () => {
    const harness = new Harness();
    harness.joinNew('g');
    const [described] = harness.coordinator.describeGroups(['g']);
    assert.equal(described?.groupState, 'PreparingRebalance');
    assert.equal(described?.protocolData, '');
    assert.equal(described?.members[0]?.memberMetadata.length, 0);
  });

  it('lists groups filtered by state (case-insensitive) and type', () => {
    const harness = new Harness();
    harness.formGroup('stable-group', 1);
    harness.commit('offsets-only', '', -1, [{ offset: 3 }]);
    const all = harness.coordinator.listGroups().map((group) => [group.groupId, group.groupState, group.protocolType]);
    assert.deepEqual(all, [
      ['stable-group', 'Stable', 'consumer'],
      ['offsets-only', 'Empty', ''],
    ]);
    assert.deepEqual(harness.coordinator.listGroups({ statesFilter: ['stable'] }).map((group) => group.groupId), ['stable-group']);
    assert.deepEqual(harness.coordinator.listGroups({ typesFilter: ['consumer'] }), []);
    assert.equal(harness.coordinator.listGroups({ typesFilter: ['Classic'] }).length, 2);
  });
});
