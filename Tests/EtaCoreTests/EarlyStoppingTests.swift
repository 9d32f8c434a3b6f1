import Testing

@testable import EtaCore

@Suite("Early stopping and the best checkpoint's tracker (Keras' EarlyStopping semantics)")
struct EarlyStoppingTests {
    func epoch(_ n: Int, val: Float?, accuracy: Float? = nil, train: Float = 1) -> EpochRecord {
        EpochRecord(
            epoch: n, step: n * 10, trainLoss: train, trainAccuracy: nil, validationLoss: val,
            validationAccuracy: accuracy, seconds: 0)
    }

    @Test("improvement beyond min_delta resets the wait; patience epochs without one stop")
    func patience() throws {
        var stopping = try EarlyStopping(spec: "2,min_delta=0.01")
        #expect(stopping.metric == .valLoss && stopping.patience == 2 && stopping.minDelta == 0.01)
        let improved1 = stopping.observe(epoch(1, val: 1.0))
        #expect(improved1)
        let improved2 = stopping.observe(epoch(2, val: 0.5))
        #expect(improved2)
        let improved3 = stopping.observe(epoch(3, val: 0.495))
        #expect(!improved3)  // within min_delta: not an improvement
        #expect(!stopping.shouldStop && stopping.wait == 1)
        let improved4 = stopping.observe(epoch(4, val: .nan))
        #expect(!improved4)  // a non-finite value never improves
        #expect(stopping.shouldStop && stopping.best?.epoch == 2 && stopping.best?.value == 0.5)
        var restored = try EarlyStopping(spec: "2,min_delta=0.01")
        let ok = restored.restore(state: stopping.state)
        #expect(ok && restored == stopping)
    }

    @Test("accuracies are maximised; without a validation split val_loss is the training loss")
    func metrics() throws {
        var accuracy = try EarlyStopping(spec: "1,metric=val_accuracy")
        let improved5 = accuracy.observe(epoch(1, val: 0.5, accuracy: 0.8))
        #expect(improved5)
        let improved6 = accuracy.observe(epoch(2, val: 0.9, accuracy: 0.9))
        #expect(improved6)
        let improved7 = accuracy.observe(epoch(3, val: 0.1, accuracy: 0.85))
        #expect(!improved7 && accuracy.shouldStop)
        #expect(EpochMetric.valLoss.value(in: epoch(1, val: nil, train: 0.7)) == 0.7)
        for bad in ["0", "x", "3,metric=loss", "3,min_delta=-1", "3,patience=2"] {
            #expect(throws: EtaError.self, "\(bad)") { _ = try EarlyStopping(spec: bad) }
        }
    }
}
