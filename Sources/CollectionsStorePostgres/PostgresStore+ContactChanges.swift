import CollectionsDomain
import CollectionsStore
import PostgresNIO

extension PostgresStore {
    public func contactChange(id: Int64) async throws -> ContactChange? {
        try await read { [self] connection in try await contactChange(id: id, on: connection) }
    }

    /// Read on the caller's connection (inside its transaction, if it has one).
    func contactChange(id: Int64, on connection: PostgresConnection) async throws -> ContactChange? {
        try await rows("SELECT * FROM contact_changes WHERE id = \(id)", on: connection).first.map { row in
            let address = try row.value("line1", as: String?.self).map { line1 in
                PostalAddress(line1: line1, line2: try row.value("line2"), town: try row.value("town", as: String?.self) ?? "",
                              postcode: try row.value("postcode", as: String?.self) ?? "", country: try row.value("country", as: String?.self) ?? "GB")
            }
            return ContactChange(
                id: id, contractNumber: try row.value("contract_number"), partnerId: try row.value("partner_id"),
                expectedVersion: try row.value("expected_version"), address: address, phone: try row.value("phone"), email: try row.value("email"),
                source: try row.value("source"), requestedBy: try row.value("requested_by"), requestedAt: try row.timestamp("requested_at"),
                state: ContactChange.State(rawValue: try row.value("state")) ?? .failed, milesVersion: try row.value("miles_version"))
        }
    }

    /// Stores an agent's change of a customer's contact details, its outbox entry and its audit entry,
    /// inside the caller's transaction (the ingest batch's).
    func queueContactChange(_ change: ContactChange, on connection: PostgresConnection) async throws {
        guard let id = try await rows("""
            INSERT INTO contact_changes (contract_number, partner_id, expected_version, line1, line2, town, postcode, country, phone, email,
                source, requested_by, requested_at, state)
            VALUES (\(change.contractNumber), \(change.partnerId), \(change.expectedVersion), \(change.address?.line1), \(change.address?.line2),
                    \(change.address?.town), \(change.address?.postcode), \(change.address?.country), \(change.phone), \(change.email),
                    \(change.source), \(change.requestedBy), \(change.requestedAt.millisecondsSinceEpoch), 'queued')
            RETURNING id
            """, on: connection).first?.value("id", as: Int64.self) else {
            throw StoreError(.corruptRecord, input: "contact change of \(change.partnerId)",
                             "the store gave no id for a new contact details change of partner \(change.partnerId)")
        }
        _ = try await enqueue(.updateContactDetails, subjectId: id, at: change.requestedAt, on: connection)
        try await audit(connection, at: change.requestedAt, actor: change.requestedBy, action: "contact.requested", subject: "partner:\(change.partnerId)",
                        details: "contact details change \(id) from \(change.source) on partner version \(change.expectedVersion)")
    }

    public func recordContactChangeApplied(_ entry: OutboxEntry, milesVersion: Int64, at: Timestamp) async throws {
        try await transaction { [self] connection in
            guard let change = try await contactChange(id: entry.subjectId, on: connection) else {
                throw StoreError(.notFound, input: "outbox entry \(entry.id)", "there is no contact-details outbox entry \(entry.id)")
            }
            _ = try await markSent(entry, result: "partner version \(milesVersion)", at: at, on: connection)
            try await connection.query("""
                UPDATE contact_changes SET state = 'applied', miles_version = \(milesVersion), failure_reason = NULL WHERE id = \(change.id)
                """, logger: logger)
            // The store shows what MILES now holds, before the next sync brings it; the customer's row
            // is locked while its phones are rewritten.
            if let address = change.address {
                try await connection.query("""
                    UPDATE customers SET line1 = \(address.line1), line2 = \(address.line2), town = \(address.town), postcode = \(address.postcode),
                        country = \(address.country)
                    WHERE partner_id = \(change.partnerId)
                    """, logger: logger)
            }
            if let phone = change.phone,
               let phones = try await rows("SELECT phones FROM customers WHERE partner_id = \(change.partnerId) FOR UPDATE", on: connection)
                .first?.value("phones", as: String.self) {
                let others = StoredPhones.split(phones)
                try await connection.query("""
                    UPDATE customers SET phones = \(StoredPhones.join([phone] + others.filter { $0 != phone })) WHERE partner_id = \(change.partnerId)
                    """, logger: logger)
            }
            if let email = change.email {
                try await connection.query("UPDATE customers SET email = \(email) WHERE partner_id = \(change.partnerId)", logger: logger)
            }
            try await connection.query("""
                UPDATE customers SET version = greatest(version, \(milesVersion)) WHERE partner_id = \(change.partnerId)
                """, logger: logger)
            try await audit(connection, at: at, actor: "outbox-relay", action: "contact.applied", subject: "partner:\(change.partnerId)",
                            details: "contact details change \(change.id) applied in MILES as partner version \(milesVersion)")
        }
    }
}
