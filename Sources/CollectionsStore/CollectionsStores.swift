/// Every store protocol at once: what `SQLiteStore` and `PostgresStore` each are, and what a command
/// opens when it does not know which the configuration names.
public typealias CollectionsStores = AuditStore & JobLockStore & RateLimitStore & SchemaStore & ContractStore & SyncStore & RiskStore
    & PeopleStore & WriteOffStore & OutboxStore & ContractActionStore & CreditStore & ArrangementStore & PlacementStore & IngestStore & BankStore
    & ReliefStore
