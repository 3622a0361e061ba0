import Billing
import EventLog
import Foundation
import ReadModels
import Tally
import TallyTestSupport
import Testing

@Suite("Engine: organizations and the plan catalog")
struct CatalogCommandTests {
    static let now = Date(timeIntervalSince1970: 1_764_000_000)

    static func acme(_ email: String = "billing@acme.test") -> OrganizationRegistration {
        OrganizationRegistration(
            id: "org_acme", name: "Acme GmbH", billingEmail: email, country: "DE", taxID: "DE123456789", currency: .eur)
    }

    @Test("a registered organization can be read back; the same registration again appends nothing")
    func register() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        let first = try await engine.register(Self.acme(), at: Self.now)
        #expect(!first.isDuplicate)
        let organization = try #require(try engine.organization("org_acme"))
        #expect(organization.name == "Acme GmbH" && organization.currency == "EUR" && organization.country == "DE")
        let retry = try await engine.register(Self.acme(), at: Self.now)
        #expect(retry == AppendReceipt(sequence: first.sequence, isDuplicate: true))
        #expect(try engine.log.head()?.sequence == 1)
    }

    @Test("registering an existing organization with other details is a conflict, and changes nothing")
    func registerConflict() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        try await engine.register(Self.acme(), at: Self.now)
        await #expect(throws: EngineError.conflict("organization org_acme is already registered with other details")) {
            try await engine.register(Self.acme("finance@acme.test"), at: Self.now)
        }
        #expect(try engine.organization("org_acme")?.billingEmail == "billing@acme.test")
        #expect(try engine.log.head()?.sequence == 1)
    }

    @Test(
        "bad registrations name the field and append nothing",
        arguments: [
            (
                "billing_email",
                OrganizationRegistration(
                    id: "org_x", name: "X", billingEmail: "not-an-email", country: "DE", currency: .usd)
            ),
            (
                "country",
                OrganizationRegistration(
                    id: "org_x", name: "X", billingEmail: "a@b.test", country: "Germany", currency: .usd)
            ),
            (
                "name",
                OrganizationRegistration(
                    id: "org_x", name: "", billingEmail: "a@b.test", country: "US-CA", currency: .usd)
            ),
        ])
    func badRegistrations(field: String, registration: OrganizationRegistration) async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        do {
            try await engine.register(registration, at: Self.now)
            Issue.record("accepted a registration with a bad \(field)")
        } catch let error as EngineError {
            guard case .invalid(let named, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(named == field)
        }
        #expect(try engine.log.head() == nil)
    }

    @Test("initializing the default plans twice defines them once; racing initializations too")
    func defaultPlans() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        #expect(try await engine.initializeDefaultPlans(at: Self.now) == ["free", "professional", "enterprise"])
        #expect(try await engine.initializeDefaultPlans(at: Self.now).isEmpty)
        #expect(try engine.log.head()?.sequence == 3)
        #expect(try engine.plans().map(\.plan) == (try Plan.defaults()).sorted { $0.id < $1.id })

        let racing = TemporaryDirectory()
        let raced = try Engine(directory: racing.path)
        let defined = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<10 { group.addTask { try await raced.initializeDefaultPlans(at: Self.now) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(defined.sorted() == ["enterprise", "free", "professional"])
        #expect(try raced.log.head()?.sequence == 3)
    }

    @Test("plans: define, redefine identically, conflict on other terms, archive once")
    func planLifecycle() async throws {
        let directory = TemporaryDirectory()
        let engine = try Engine(directory: directory.path)
        var startup = try Plan.defaults()[1]
        startup.id = "startup"
        startup.name = "Startup"
        try await engine.definePlan(startup, at: Self.now)
        try await engine.definePlan(startup, at: Self.now)
        #expect(try engine.log.head()?.sequence == 1)
        var changed = startup
        changed.trialDays = 30
        await #expect(throws: EngineError.conflict("plan startup is already defined with other terms")) {
            try await engine.definePlan(changed, at: Self.now)
        }
        var invalid = startup
        invalid.id = "Bad Id"
        await #expect(throws: EngineError.self) { try await engine.definePlan(invalid, at: Self.now) }

        try await engine.archivePlan("startup", at: Self.now)
        #expect(try engine.plan("startup")?.isArchived == true)
        await #expect(throws: EngineError.conflict("plan startup is already archived")) {
            try await engine.archivePlan("startup", at: Self.now)
        }
        await #expect(throws: EngineError.notFound("plan nope")) { try await engine.archivePlan("nope", at: Self.now) }
    }

    @Test("the catalog survives a reopen and a rebuild, byte for byte")
    func rebuild() async throws {
        let directory = TemporaryDirectory()
        let before: [String: [[UInt8]]]
        do {
            let engine = try Engine(directory: directory.path)
            try await engine.initializeDefaultPlans(at: Self.now)
            try await engine.register(Self.acme(), at: Self.now)
            try await engine.archivePlan("free", at: Self.now)
            before = try engine.projections.flatDump(CatalogProjector.name)
        }
        let engine = try Engine(directory: directory.path)
        #expect(try engine.plan("free")?.isArchived == true)
        #expect(try engine.organization("org_acme") != nil)
        try engine.projections.rebuild(CatalogProjector.name)
        #expect(try engine.projections.flatDump(CatalogProjector.name) == before)
    }
}
