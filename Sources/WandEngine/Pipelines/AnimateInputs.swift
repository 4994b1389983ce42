import WandModels

/// What mode `animate` generates: the reference character performing the driving motion on a
/// new video (`animate`), or put into the driving video's own scene in place of its person
/// (`replace`, which needs the background and mask videos).
public enum AnimateMode: String, Sendable, CaseIterable, Codable {
    case animate, replace
}

/// The preprocessed driving videos of an animate job, as the official preprocessing
/// (`wan/modules/animate/preprocess/preprocess_data.py`) writes them: `src_pose.mp4` (rendered
/// skeletons), `src_face.mp4` (512×512 face crops, one per frame), and for replacement
/// `src_bg.mp4` (the scene with the person removed) and `src_mask.mp4` (white = the character's
/// region to generate). All have one frame per output frame; the reference image is the request's.
public struct AnimateInputs: Sendable {
    public var mode: AnimateMode
    public var pose: [RGBImage]
    public var face: [RGBImage]
    public var background: [RGBImage]?
    public var mask: [RGBImage]?
    /// Frames of the previous segment that condition the next one (`refert_num`; 1 or 5).
    public var refertNum: Int

    public init(mode: AnimateMode, pose: [RGBImage], face: [RGBImage], background: [RGBImage]? = nil,
                mask: [RGBImage]? = nil, refertNum: Int = 1) {
        self.mode = mode
        self.pose = pose
        self.face = face
        self.background = background
        self.mask = mask
        self.refertNum = refertNum
    }
}

/// How a driving video of `realFrames` frames is cut into overlapping segments of `segmentFrames`
/// (official `get_valid_len` / diffusers `num_padding_frames`): each segment after the first
/// starts `segmentFrames − refert` frames later and re-uses the previous segment's last `refert`
/// output frames, and the videos are padded (ping-pong, `pad_video_frames`) so that the last
/// segment is whole.
struct AnimateSegmentPlan: Equatable {
    let realFrames: Int
    let segmentFrames: Int
    let refert: Int
    let targetFrames: Int
    let count: Int

    init(realFrames: Int, segmentFrames: Int, refert: Int) {
        self.realFrames = realFrames
        self.segmentFrames = segmentFrames
        self.refert = refert
        let step = segmentFrames - refert
        let tail = (realFrames - refert) % step
        targetFrames = realFrames + (tail == 0 ? 0 : step - tail)
        count = (targetFrames - refert) / step
    }

    var step: Int { segmentFrames - refert }
    func start(_ segment: Int) -> Int { segment * step }

    /// Frame indices of a video of `n` frames padded to `target` by reflection without repeating
    /// the ends: [0, 1, 2, 3, 4] -> 10 gives [0, 1, 2, 3, 4, 3, 2, 1, 0, 1].
    static func pingPong(_ n: Int, to target: Int) -> [Int] {
        guard n > 1 else { return [Int](repeating: 0, count: target) }
        var out: [Int] = [], i = 0, forward = true
        while out.count < target {
            out.append(i)
            i += forward ? 1 : -1
            if i == 0 || i == n - 1 { forward.toggle() }
        }
        return out
    }
}
