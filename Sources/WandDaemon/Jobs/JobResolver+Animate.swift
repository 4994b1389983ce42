import Foundation

extension JobResolver {
    /// The preprocessed driving videos of an animate job, confined like every input.
    struct AnimateFiles {
        var pose: URL?
        var face: URL?
        var background: URL?
        var mask: URL?
    }

    /// Where a user gets the videos Animate needs: the official preprocessing. Part of every
    /// "missing" message, so a job that lacks them says how to make them.
    static let animatePreprocessing = "make them with the official preprocessing (wan/modules/animate/preprocess/"
        + "preprocess_data.py from the Wan2.2 repository, see the README's Animate section): it writes src_pose.mp4 and "
        + "src_face.mp4, and with --replace_flag src_bg.mp4 and src_mask.mp4"

    /// animate: `pose_video` (or `video`), `face_video`, and for `animate_mode: replace` also
    /// `background_video` and `mask_video`; other modes refuse these keys.
    func animateInputs(_ f: JobFields, mode: Mode, at: YAMLMark, fail: (String, YAMLMark) -> Void,
                       confined: (String, Located<String>) -> URL?) -> AnimateFiles {
        let given: [(String, Located<String>?)] = [("pose_video", f.poseVideo), ("face_video", f.faceVideo),
                                                   ("background_video", f.backgroundVideo), ("mask_video", f.maskVideo)]
        guard mode == .animate else {
            for (key, value) in given where !(key == "pose_video" && mode == .s2v) {
                let modes = key == "pose_video" ? "modes s2v and animate" : "mode animate"
                if let value { fail("\(key) is only used by \(modes)", value.mark) }
            }
            if let m = f.animateMode { fail("animate_mode is only used by mode animate", m.mark) }
            if let n = f.refertNum { fail("refert_num is only used by mode animate", n.mark) }
            return AnimateFiles()
        }
        var files = AnimateFiles()
        if let pose = f.poseVideo, let video = f.video {
            fail("give the pose video as pose_video or video, not both", pose.mark.line > video.mark.line ? pose.mark : video.mark)
        }
        if let pose = f.poseVideo {
            files.pose = confined("pose_video", pose)
        } else if f.video == nil {
            fail("mode animate needs a pose_video (the driving video rendered as pose skeletons); \(Self.animatePreprocessing)", at)
        }
        if let face = f.faceVideo {
            files.face = confined("face_video", face)
        } else {
            fail("mode animate needs a face_video (the driving video's face, cropped to 512x512, one crop per pose frame); "
                 + Self.animatePreprocessing, at)
        }
        let replace = f.animateMode?.value == .replace
        for (key, value, what) in [("background_video", f.backgroundVideo, "the driving video with its person removed"),
                                   ("mask_video", f.maskVideo, "white where the character goes")] {
            if let value {
                if replace {
                    let url = confined(key, value)
                    if key == "background_video" { files.background = url } else { files.mask = url }
                } else {
                    fail("\(key) is only used with animate_mode: replace", value.mark)
                }
            } else if replace {
                fail("animate_mode replace needs a \(key) (\(what)); \(Self.animatePreprocessing)", f.animateMode!.mark)
            }
        }
        return files
    }
}
