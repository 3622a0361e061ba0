import LMDB

extension EventLog {
    /// Walks the hash chain and reports the first event that is not what the chain says.
    ///
    /// - Parameters:
    ///   - checkpoint: A sequence and hash trusted from elsewhere (an earlier verify, an export
    ///     manifest). Verification starts after it, after checking the log still holds it.
    ///     Nil verifies from event 1.
    ///   - recordedHead: A head recorded earlier. When the log now ends before it, or holds
    ///     another event there, the log was truncated and the report says so.
    ///   - progress: Called now and then with the last sequence checked.
    public func verify(
        from checkpoint: Checkpoint? = nil, recordedHead: Checkpoint? = nil,
        batchSize: Int = 65_536, progress: ((UInt64) -> Void)? = nil
    ) throws -> VerificationReport {
        var walk = ChainWalk(expectedSequence: 1, previousHash: .zero)
        if let checkpoint {
            if let failure = try checkTrusted(checkpoint, reason: .checkpointMismatch) {
                return VerificationReport(eventsChecked: 0, head: nil, failure: failure)
            }
            walk = ChainWalk(expectedSequence: checkpoint.sequence + 1, previousHash: checkpoint.hash)
            walk.head = checkpoint
        }
        while walk.failure == nil {
            let before = walk.checked
            try environment.read { txn in
                try txn.withCursor(on: databases.events) { cursor in
                    var entry = try SequenceKey(walk.expectedSequence).withUnsafeBytes {
                        try cursor.seek(atOrAfter: $0)
                    }
                    var count = 0
                    while let current = entry, count < batchSize, walk.failure == nil {
                        walk.check(key: current.key, record: current.value)
                        count += 1
                        entry = try cursor.next()
                    }
                }
            }
            if walk.checked == before { break }
            progress?(walk.expectedSequence - 1)
        }
        if walk.failure == nil, let recordedHead {
            walk.failure = try checkTrusted(recordedHead, reason: .truncated)
        }
        return VerificationReport(eventsChecked: walk.checked, head: walk.head, failure: walk.failure)
    }

    /// Checks the log holds, at `trusted.sequence`, an event whose bytes hash to `trusted.hash`.
    private func checkTrusted(_ trusted: Checkpoint, reason: VerificationFailure.Reason) throws -> VerificationFailure?
    {
        try environment.read { txn in
            try SequenceKey(trusted.sequence).withUnsafeBytes { key in
                try txn.withValue(forKey: key, in: databases.events) { record in
                    guard let record, record.count > EnvelopeCoding.hashLength else {
                        return VerificationFailure(
                            sequence: trusted.sequence, reason: reason,
                            detail:
                                "the log holds no event \(trusted.sequence), expected one with hash \(trusted.hash.hex)"
                        )
                    }
                    let actual = EnvelopeCoding.sha256(
                        UnsafeRawBufferPointer(rebasing: record[EnvelopeCoding.hashLength...]))
                    guard actual == trusted.hash else {
                        return VerificationFailure(
                            sequence: trusted.sequence, reason: reason,
                            detail: "event \(trusted.sequence) hashes to \(actual.hex), expected \(trusted.hash.hex)")
                    }
                    return nil
                }
            }
        }
    }
}

/// The state of a walk along the chain: what the next event must look like.
private struct ChainWalk {
    var expectedSequence: UInt64
    var previousHash: EventHash
    var checked: UInt64 = 0
    var head: Checkpoint?
    var failure: VerificationFailure?

    mutating func check(key: UnsafeRawBufferPointer, record: UnsafeRawBufferPointer) {
        guard let sequence = SequenceKey(bytes: key)?.sequence else {
            return fail(
                expectedSequence, .malformedRecord,
                "a key of \(key.count) bytes follows event \(expectedSequence - 1); keys are 8 bytes")
        }
        guard sequence == expectedSequence else {
            return fail(
                expectedSequence, .gap, "event \(expectedSequence) is missing; the next event present is \(sequence)")
        }
        guard let storedHash = EventHash(bytes: record), record.count > EnvelopeCoding.hashLength else {
            return fail(
                sequence, .malformedRecord, "the record has \(record.count) bytes, fewer than a hash and an envelope")
        }
        let envelopeBytes = UnsafeRawBufferPointer(rebasing: record[EnvelopeCoding.hashLength...])
        let actualHash = EnvelopeCoding.sha256(envelopeBytes)
        guard actualHash == storedHash else {
            return fail(
                sequence, .hashMismatch,
                "the envelope hashes to \(actualHash.hex) but the record says \(storedHash.hex)")
        }
        let sequenceInEnvelope: UInt64
        let linkIsIntact: Bool
        if let fields = EventRecordView(envelope: envelopeBytes) {  // read in place, allocating nothing
            sequenceInEnvelope = fields.sequence
            linkIsIntact =
                EventHash(bytes: fields.previousHash) == previousHash
                && fields.previousHash.count == EnvelopeCoding.hashLength
        } else {
            // Not Tally's own encoding: SwiftProtobuf gives the verdict.
            do {
                let envelope = try EnvelopeCoding.decodeEnvelopeGenerically(envelopeBytes)
                sequenceInEnvelope = envelope.sequence
                linkIsIntact = EventHash(envelope.previousHash) == previousHash
            } catch {
                return fail(sequence, .undecodable, "\(error)")
            }
        }
        guard sequenceInEnvelope == sequence else {
            return fail(sequence, .sequenceMismatch, "the envelope says sequence \(sequenceInEnvelope)")
        }
        guard linkIsIntact else {
            return fail(
                sequence, .brokenLink,
                "previous_hash does not match event \(sequence - 1), which hashes to \(previousHash.hex)")
        }
        previousHash = storedHash
        head = Checkpoint(sequence: sequence, hash: storedHash)
        expectedSequence = sequence + 1
        checked += 1
    }

    private mutating func fail(_ sequence: UInt64, _ reason: VerificationFailure.Reason, _ detail: String) {
        failure = VerificationFailure(sequence: sequence, reason: reason, detail: detail)
    }
}
