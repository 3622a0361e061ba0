public import LMDB
public import ReadModels

// The read-model and storage types that the engine's queries and options hand out, named
// here so that a user of `Tally` needs no import of the modules beneath it.

/// How the engine's LMDB environment is opened (map size, readers, durability).
public typealias EnvironmentOptions = LMDB.EnvironmentOptions
/// An organization's current (or last) subscription, with its period and price.
public typealias SubscriptionRecord = ReadModels.SubscriptionRecord
/// A registered organization.
public typealias Organization = ReadModels.Organization
/// An invoice's collection status.
public typealias InvoiceStatus = ReadModels.InvoiceStatus
/// How a usage query groups its rows: by day, user or resource.
public typealias UsageBreakdown = ReadModels.UsageRollupsProjector.Breakdown
