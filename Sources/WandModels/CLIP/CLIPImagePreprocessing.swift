import WandTensor

/// The two ways Wan's references turn a reference image into CLIP pixels `[3, S, S]`:
///
/// * official (`wan/modules/animate/clip.py` CLIPModel.visual): the image in [−1, 1] is stretched
///   to S×S with torch bicubic interpolation (align_corners False, no antialias, no crop), mapped
///   to [0, 1] and normalized with OpenAI's mean and std;
/// * diffusers (transformers `CLIPImageProcessor`): the 8-bit image's shortest edge is resized to
///   S with antialiased bicubic, the centre S×S is cropped, then normalized. For a non-square
///   reference the two see different pixels.
public enum CLIPImagePreprocessing {
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// `rgb`: `height·width·3` bytes, row-major, channels last.
    public static func officialPixels(_ rgb: [UInt8], width: Int, height: Int, size: Int,
                                      backend: any ComputeBackend) throws -> Tensor {
        let plane = width * height
        let image = Tensor(uninitialized: [1, 3, height, width])
        for i in 0..<plane {
            for c in 0..<3 { image.data[c * plane + i] = Float(rgb[i * 3 + c]) / 127.5 - 1 }
        }
        let stretched = try backend.interpolate(image, height: size, width: size, mode: .bicubic(alignCorners: false))
        let out = Tensor(uninitialized: [3, size, size])
        let n = size * size
        for c in 0..<3 {
            for i in 0..<n {
                out.data[c * n + i] = (stretched.data[c * n + i] * 0.5 + 0.5 - mean[c]) / std[c]
            }
        }
        return out
    }

    /// transformers' output size for `shortest_edge` (`get_resize_output_image_size`,
    /// default_to_square False): the long side is `int(edge · long / short)`.
    public static func shortestEdgeSize(width: Int, height: Int, edge: Int) -> (width: Int, height: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(edge) * Double(long) / Double(short))
        return width <= height ? (edge, newLong) : (newLong, edge)
    }

    public static func transformersPixels(_ rgb: [UInt8], width: Int, height: Int, shortestEdge: Int,
                                          crop: Int) -> Tensor {
        let (rw, rh) = shortestEdgeSize(width: width, height: height, edge: shortestEdge)
        let resized = AntialiasedResize.bicubic(rgb, width: width, height: height, outWidth: rw, outHeight: rh)
        // Centre crop (CLIPImageProcessor pads with zeros first when the image is smaller).
        let top = (rh - crop) / 2, left = (rw - crop) / 2
        let padTop = rh < crop ? (crop - rh) / 2 : 0, padLeft = rw < crop ? (crop - rw) / 2 : 0
        let out = Tensor(uninitialized: [3, crop, crop])
        let n = crop * crop
        for y in 0..<crop {
            for x in 0..<crop {
                let sy = rh < crop ? y - padTop : y + top, sx = rw < crop ? x - padLeft : x + left
                for c in 0..<3 {
                    let v: Float = (sy >= 0 && sy < rh && sx >= 0 && sx < rw) ? Float(resized[(sy * rw + sx) * 3 + c]) : 0
                    // The processor fuses rescale (1/255) into the normalization: (v − 255·mean) / (255·std).
                    out.data[c * n + y * crop + x] = (v - mean[c] * 255) / (std[c] * 255)
                }
            }
        }
        return out
    }
}
