/// The pace of a stage's steps and the time its remaining steps will take, from the steps seen so
/// far. Denoising steps cost the same (the same model pass, or passes, at every step), so the mean
/// since the first report is the estimate; the first report only starts the clock, because the
/// time before it also holds text and input encoding.
public struct StepPace: Sendable, Equatable {
    private var stage: GenerationStage?
    private var firstStep = 0
    private var firstTime = 0.0
    public private(set) var secondsPerStep: Double?
    public private(set) var secondsLeft: Double?

    public init() {}

    /// Feed every progress report with a monotonic clock reading (seconds).
    public mutating func update(_ p: GenerationProgress, now: Double) {
        guard p.totalSteps > 0 else {
            if p.stage != stage { reset(p.stage) }
            return
        }
        if p.stage != stage || p.step < firstStep { reset(p.stage); firstStep = p.step; firstTime = now; return }
        guard p.step > firstStep else { return }
        let pace = (now - firstTime) / Double(p.step - firstStep)
        secondsPerStep = pace
        secondsLeft = pace * Double(max(0, p.totalSteps - p.step))
    }

    private mutating func reset(_ s: GenerationStage) {
        stage = s
        firstStep = 0
        secondsPerStep = nil
        secondsLeft = nil
    }

    /// `1:05:09`, `4:07`, `0:09`.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }

    /// `denoising 12/40, 2.1 s/step, 0:59 left`, or what is known so far.
    public static func describe(_ p: GenerationProgress, _ pace: StepPace) -> String {
        var s = p.stage.rawValue
        guard p.totalSteps > 0 else { return s }
        s += " \(p.step)/\(p.totalSteps)"
        if let perStep = pace.secondsPerStep, let left = pace.secondsLeft {
            let rate = perStep >= 10 ? "\(Int(perStep.rounded())) s/step" : "\(Double(Int(perStep * 10 + 0.5)) / 10) s/step"
            s += ", \(rate), \(clock(left)) left"
        }
        return s
    }
}
