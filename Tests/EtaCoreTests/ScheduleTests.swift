import Foundation
import Testing

@testable import EtaCore

struct TorchSchedule: Decodable {
    let spec: String
    let warmup: String?
    let lr: Double
    let steps: Int
    let metrics: [Double]?
    let expected_lr: [Double]
    let expected_momentum: [Double]?

    static let all: [TorchSchedule] = {
        struct File: Decodable { let cases: [TorchSchedule] }
        let url = Bundle.module.url(forResource: "torch_schedules", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()
}

@Suite("Schedules against torch.optim.lr_scheduler")
struct ScheduleTests {
    /// The bar: 1e-6 relative. Closed forms in double against PyTorch's recursive forms differ by a few ulps
    /// of double; values that are exactly 0 in PyTorch must be within 1e-12 absolute.
    @Test("every schedule and option, warmups included", arguments: TorchSchedule.all.indices)
    func matchesTorch(index: Int) throws {
        let fixture = TorchSchedule.all[index]
        var plan = try SchedulePlan(
            main: try Schedule(spec: fixture.spec), warmup: try fixture.warmup.map { try Schedule(spec: $0) },
            base: fixture.lr, totalSteps: fixture.steps)
        for k in 0..<fixture.steps {
            let expected = fixture.expected_lr[k], actual = plan.learningRate(at: k)
            #expect(
                abs(actual - expected) <= 1e-6 * abs(expected) + 1e-12,
                "\(fixture.spec) step \(k): \(actual) vs torch \(expected)")
            if let momenta = fixture.expected_momentum {
                let momentum = try #require(plan.momentum(at: k))
                #expect(
                    abs(momentum - momenta[k]) <= 1e-6 * momenta[k],
                    "\(fixture.spec) momentum at \(k): \(momentum) vs \(momenta[k])")
            }
            if let metrics = fixture.metrics { plan.observe(metric: metrics[k], afterStep: k) }
        }
    }

    @Test("fixtures cover every schedule name", arguments: Schedule.names)
    func coverage(name: String) {
        #expect(TorchSchedule.all.contains { $0.spec.hasPrefix(name) }, "no fixture for \(name)")
    }

    @Test(
        "bad SPECs are usage errors naming the bad part",
        arguments: [
            ("cosine", "needs 't_max='"), ("cosine:t_max=0", "'t_max'"), ("step:gamma=0.5", "needs 'step_size='"),
            ("sawtooth", "unknown schedule 'sawtooth'"), ("cosine:tmax=10", "unknown key 'tmax'"),
            ("multistep:milestones=10,20", "malformed part '20'"),
            ("multistep:milestones=a/b", "integers in 0...1099511627776"),
            ("cyclic:max_lr=1,mode=zigzag", "one of triangular"), ("plateau:factor=2", "must be < 1"),
            ("linear:start_factor=0", "(0, 1]"), ("onecycle:three_phase=maybe", "true or false"),
            ("wsd:warmup=5", "needs 'decay='"), ("wsd:decay=5,decay_type=exp", "one of linear, cosine, 1-sqrt"),
            ("wsd:decay=5,min_lr_ratio=2", "a number in [0.0, 1.0]"), ("inverse_sqrt:timescale=0", "'timescale'"),
        ])
    func badSpecs(spec: String, message: String) {
        do {
            _ = try Schedule(spec: spec)
            Issue.record("'\(spec)' was accepted")
        } catch let error as EtaError {
            #expect(error.exitCode == 64)
            #expect(error.message.contains(message), "\(error.message)")
        } catch { Issue.record("\(error)") }
    }

    @Test("plateau composes with a warmup: the warmup runs first, then plateau from the base lr")
    func plateauAfterWarmup() throws {
        var plan = try SchedulePlan(
            main: try Schedule(spec: "plateau:patience=1,factor=0.5"),
            warmup: try Schedule(spec: "linear:start_factor=0.1,total_iters=4"), base: 1, totalSteps: 20)
        #expect(plan.learningRate(at: 0) == 0.1)
        for k in 0..<4 { plan.observe(metric: 5, afterStep: k) }  // metrics during the warmup are ignored
        #expect(plan.learningRate(at: 4) == 1)
        plan.observe(metric: 1, afterStep: 4)
        plan.observe(metric: 1, afterStep: 5)
        #expect(plan.learningRate(at: 6) == 1)
        plan.observe(metric: 1, afterStep: 6)
        #expect(plan.learningRate(at: 7) == 0.5)
    }

    @Test("SequentialSchedule and ChainedSchedule")
    func composition() throws {
        let sequential = SequentialSchedule(
            [try Schedule(spec: "constant:factor=0.5,total_iters=100"), try Schedule(spec: "exponential:gamma=0.5")],
            milestones: [3])
        #expect([0, 1, 2, 3, 4, 5].map { sequential.learningRate(at: $0, base: 1) } == [0.5, 0.5, 0.5, 1, 0.5, 0.25])
        let chained = ChainedSchedule([
            try Schedule(spec: "constant:factor=0.5,total_iters=2"), try Schedule(spec: "exponential:gamma=0.5"),
        ])
        #expect([0, 1, 2, 3].map { chained.learningRate(at: $0, base: 1) } == [0.5, 0.25, 0.25, 0.125])
    }

    @Test("wsd without stable needs the run's length, as get_wsd_schedule needs num_training_steps")
    func wsdNeedsLength() throws {
        #expect(throws: EtaError.self) {
            _ = try SchedulePlan(main: try Schedule(spec: "wsd:warmup=2,decay=4"), base: 0.1, totalSteps: nil)
        }
        let plan = try SchedulePlan(main: try Schedule(spec: "wsd:stable=3,decay=4"), base: 1, totalSteps: nil)
        #expect((0..<9).map { plan.learningRate(at: $0) }.suffix(2) == [0, 0])
    }

    @Test("onecycle refuses to run past total_steps, as PyTorch does")
    func oneCycleTooShort() {
        #expect(throws: EtaError.self) {
            _ = try SchedulePlan(main: try Schedule(spec: "onecycle:total_steps=10"), base: 0.1, totalSteps: 50)
        }
    }
}
