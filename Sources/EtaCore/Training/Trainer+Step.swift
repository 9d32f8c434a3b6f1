extension Trainer {
    /// How one step ended.
    enum StepOutcome { case continued, diverged, rolledBack }

    /// One optimizer step: its micro-batches, clipping, the guard's check (every `logEvery` steps, before the update)
    /// and the update; a logged step is appended to `steps`, and the rows seen are added to `samples`.
    func step(observer: TrainingObserver?, steps: inout [StepRecord], samples: inout Int) throws -> StepOutcome {
        let stepNumber = position.step + 1
        let checking = stepNumber % configuration.logEvery == 0 || stepNumber == 1
        // Gradient accumulation: `micro` mini-batches add into the gradient arena before one update.
        let micro = min(configuration.accumulationSteps, batchesPerEpoch - position.batchInEpoch)
        let computed = try computeGradients(batchIndex: position.batchInEpoch, count: micro) { index in
            !checking || index < micro - 1
        }
        samples += computed.globalRows
        let rows = computed.lastLocalRows
        try exchangeGradients(
            lastLocalRows: rows, lastGlobalRows: computed.lastGlobalRows,
            stopRequested: observer?.stopRequested == true)
        let lr = learningRate(step: stepNumber)
        try network.clipGradients(
            maxNorm: configuration.clipGradNorm.map(Float.init), maxValue: configuration.clipGradValue.map(Float.init))
        // With the gradient check on, the stats (norm and loss) are read once per step, here.
        let checkedStats = configuration.nonFiniteGradients == .off ? nil : try gradientStats()
        if let checkedStats, !checkedStats[.gradNormSquared]!.isFinite {
            if try handleNonFiniteGradients(step: stepNumber, batches: micro, observer: observer) == .abort {
                return .diverged
            }
        } else if checking {
            // The guard's check: the loss is read before the update is applied. With clipping by norm the
            // logged norm is the pre-clip one, as clip_grad_norm_ returns.
            if configuration.clipGradNorm == nil && checkedStats == nil { try network.measureGradientNorm() }
            let stats = try checkedStats ?? network.readStats()
            let loss = stats[.batchLoss]!
            let record = StepRecord(
                step: stepNumber, epoch: position.epoch + 1, learningRate: lr,
                loss: loss, gradNorm: stats[.gradNormSquared]!.squareRoot(),
                stepSizeEstimate: network.optimizer.stepSizeEstimate)
            steps.append(record)
            observer?.trainer(self, didLog: record)
            if let kind = anomaly(loss) {
                switch try handleAnomaly(kind, loss: loss, step: stepNumber, batches: micro, observer: observer) {
                case .abort: return .diverged
                case .rolledBack: return .rolledBack
                case .skipped: break
                }
            } else {
                // The last good state is this one, whose loss was just checked: a rollback re-runs this
                // step with a smaller lr.
                if configuration.divergenceGuard.policy == .rollback { goodSnapshot = try TrainerSnapshot(self) }
                if rows > 0 { try network.accumulateLastBatch(rows: rows) }
                try applyUpdate(learningRate: lr, momentum: momentum(step: stepNumber))
                try average?.update(from: network.arena.parameters, on: backend)
                consecutiveSkips = 0
                consecutiveGradientSkips = 0
                let average = runningLoss.map { 0.9 * $0 + 0.1 * Double(loss) } ?? Double(loss)
                runningLoss = average
                position.step = stepNumber
                position.batchInEpoch += micro
            }
        } else {
            try applyUpdate(learningRate: lr, momentum: momentum(step: stepNumber))
            try average?.update(from: network.arena.parameters, on: backend)
            position.step = stepNumber
            position.batchInEpoch += micro
            consecutiveGradientSkips = 0
        }
        return .continued
    }
}
