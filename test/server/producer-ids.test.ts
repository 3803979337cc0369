// Proves producer ids are never handed out twice on one node: a block is in `producer-id-block`
// before any of its ids is given, a reopened file continues after the last reserved block, and a
// damaged file refuses the start instead of guessing; and that InitProducerId bumps only the epoch
// it handed out (a retried bump gets the same answer), gives fresh ids otherwise, and refuses
// transactional ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode } from '../../src/protocol/error-codes.ts';
import { ProducerIdBlockFile, producerIdBlockFileName, ProducerIdService } from '../../src/server/producer-ids.ts';
import { silentLogger } from '../../src/util/log.ts';
import { withTempDir } from '../storage/helpers.ts';

const newProducer = { transactionalId: null, producerId: -1, producerEpoch: -1 };

test('a reserved block is durable before its ids are used, and a reopened file never repeats one', async () => {
  await withTempDir(async (dir) => {
    const file = await ProducerIdBlockFile.open(dir);
    assert.equal(await file.reserve(1000), 0);
    assert.equal(await readFile(join(dir, producerIdBlockFileName), 'utf8'), '0\n1\n0 1000\n');
    assert.equal(await file.reserve(1000), 1000);

    const service = await ProducerIdService.open(dir, silentLogger);
    const first = await service.initProducerId(newProducer);
    assert.deepEqual(first, { errorCode: ErrorCode.NONE, producerId: 2000, producerEpoch: 0 });
    assert.equal((await service.initProducerId(newProducer)).producerId, 2001);
    const reopened = await ProducerIdService.open(dir, silentLogger);
    assert.equal((await reopened.initProducerId(newProducer)).producerId, 3000, 'the rest of the block is skipped');
  });
});

test('a damaged block file refuses the start', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, producerIdBlockFileName), '0\n1\n12x 1000\n');
    await assert.rejects(ProducerIdBlockFile.open(dir));
    await writeFile(join(dir, producerIdBlockFileName), '0\n1\n-5 1000\n');
    await assert.rejects(ProducerIdBlockFile.open(dir));
  });
});

test('epoch bumps: only the epoch handed out is bumped; anything else gets a fresh id', async () => {
  await withTempDir(async (dir) => {
    const service = await ProducerIdService.open(dir, silentLogger);
    const { producerId } = await service.initProducerId(newProducer);
    const bumped = await service.initProducerId({ transactionalId: null, producerId, producerEpoch: 0 });
    assert.deepEqual(bumped, { errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    assert.deepEqual(await service.initProducerId({ transactionalId: null, producerId, producerEpoch: 0 }), bumped, 'retried bump');
    const stale = await service.initProducerId({ transactionalId: null, producerId, producerEpoch: 5 });
    assert.notEqual(stale.producerId, producerId);
    assert.equal(stale.producerEpoch, 0);
    const unknown = await service.initProducerId({ transactionalId: null, producerId: 999, producerEpoch: 3 });
    assert.ok(unknown.producerId !== 999 && unknown.producerEpoch === 0);
    assert.equal((await service.initProducerId({ transactionalId: null, producerId: 5, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await service.initProducerId({ transactionalId: 'tx', producerId: -1, producerEpoch: -1 })).errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  });
});
