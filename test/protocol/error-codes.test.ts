// Proves the error-code catalog matches Kafka's numbering for the codes Tide's handlers rely
// on, that every entry is unique and reachable by code and name, and that the lookup helpers
// handle unknown codes without throwing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  allErrors,
  errorInfo,
  errorInfoByName,
  errorMessage,
  errorName,
  isRetriable,
} from '../../src/protocol/error-codes.ts';
import { ApiKey, apiKeyName } from '../../src/protocol/api-keys.ts';

test('well-known codes have Kafka numbers and retriable flags', () => {
  const expected: [keyof typeof ErrorCode, number, boolean][] = [
    ['UNKNOWN_SERVER_ERROR', -1, false], ['NONE', 0, false], ['OFFSET_OUT_OF_RANGE', 1, false],
    ['CORRUPT_MESSAGE', 2, true], ['UNKNOWN_TOPIC_OR_PARTITION', 3, true], ['LEADER_NOT_AVAILABLE', 5, true],
    ['NOT_LEADER_OR_FOLLOWER', 6, true], ['REQUEST_TIMED_OUT', 7, true], ['MESSAGE_TOO_LARGE', 10, false],
    ['NOT_COORDINATOR', 16, true], ['NOT_ENOUGH_REPLICAS', 19, true], ['ILLEGAL_GENERATION', 22, false],
    ['UNKNOWN_MEMBER_ID', 25, false], ['REBALANCE_IN_PROGRESS', 27, false], ['UNSUPPORTED_VERSION', 35, false],
    ['TOPIC_ALREADY_EXISTS', 36, false], ['NOT_CONTROLLER', 41, true], ['INVALID_REQUEST', 42, false],
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false], ['DUPLICATE_SEQUENCE_NUMBER', 46, false],
    ['KAFKA_STORAGE_ERROR', 56, true], ['FENCED_LEADER_EPOCH', 74, true], ['UNKNOWN_LEADER_EPOCH', 75, true],
    ['MEMBER_ID_REQUIRED', 79, false], ['PRODUCER_FENCED', 90, false], ['UNKNOWN_TOPIC_ID', 100, true],
    ['INCONSISTENT_CLUSTER_ID', 104, false], ['TRANSACTION_ABORTABLE', 120, false], ['VOTER_NOT_FOUND', 127, false],
  ];
  for (const [name, code, retriable] of expected) {
    assert.equal(ErrorCode[name], code, name);
    assert.equal(isRetriable(code), retriable, name);
    assert.equal(errorName(code), name);
  }
});

test('the catalog is complete from -1 to 127, unique, and looked up both ways', () => {
  const codes = allErrors.map((info) => info.code);
  assert.deepEqual(codes, Array.from({ length: 129 }, (_, index) => index - 1));
  assert.equal(new Set(allErrors.map((info) => info.name)).size, allErrors.length);
  for (const info of allErrors) {
    assert.equal(errorInfo(info.code), info);
    assert.equal(errorInfoByName(info.name), info);
    if (info.code !== 0) assert.ok(info.message.length > 0, info.name);
  }
  assert.equal(errorMessage(ErrorCode.NONE), null);
  assert.match(errorMessage(ErrorCode.NOT_LEADER_OR_FOLLOWER)!, /not the current leader/);
});

test('unknown codes and api keys are described, not thrown', () => {
  assert.equal(errorInfo(9999), undefined);
  assert.equal(errorName(9999), 'UNKNOWN_ERROR_CODE(9999)');
  assert.equal(isRetriable(9999), false);
  assert.match(errorMessage(9999)!, /9999/);
  assert.equal(ApiKey.Produce, 0);
  assert.equal(ApiKey.ApiVersions, 18);
  assert.equal(ApiKey.DescribeTopicPartitions, 75);
  assert.equal(apiKeyName(1), 'Fetch');
  assert.equal(apiKeyName(4242), 'Unknown(4242)');
});
