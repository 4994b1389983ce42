#!/bin/sh
# Makes the small decoder fixtures in Tests/Fixtures/media with the ffmpeg CLI (reference tool, not our code).
# Usage: sh Tools/media/make_fixtures.sh   (needs ffmpeg and python3)
set -eu
out="$(dirname "$0")/../../Tests/Fixtures/media"
mkdir -p "$out"
ff="ffmpeg -hide_banner -loglevel error -y"
$ff -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=0.5" -ac 2 "$out/tone440.wav"
$ff -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=0.5" -ac 2 -c:a libmp3lame -b:a 64k "$out/tone440.mp3"
$ff -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=0.5" -c:a flac "$out/tone440.flac"
$ff -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=0.5" -c:a aac -b:a 64k "$out/tone440.m4a"
$ff -f lavfi -i "testsrc2=size=64x48:rate=10:duration=1" -pix_fmt yuv420p -c:v libvpx-vp9 -b:v 200k "$out/clip10fps.webm"
$ff -f lavfi -i "testsrc2=size=64x48:rate=10:duration=1" -pix_fmt yuv420p -c:v libx264 -crf 20 "$out/clip10fps.mov"
# A 40x20 picture: left half red, right half blue; stored with EXIF Orientation 6 (display rotated 90 degrees clockwise).
$ff -f lavfi -i "color=red:size=20x20,format=rgb24[a];color=blue:size=20x20,format=rgb24[b];[a][b]hstack" -frames:v 1 "$out/redblue.png" 2>/dev/null || \
$ff -f lavfi -i "color=red:size=20x20" -f lavfi -i "color=blue:size=20x20" -filter_complex "[0][1]hstack" -frames:v 1 "$out/redblue.png"
$ff -i "$out/redblue.png" -frames:v 1 -q:v 2 "$out/redblue.jpg"
$ff -i "$out/redblue.png" -frames:v 1 -c:v libwebp -lossless 1 "$out/redblue.webp"
python3 - "$out/redblue.jpg" "$out/redblue-exif6.jpg" <<'PY'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
# Big-endian TIFF with one IFD entry: Orientation (0x0112), SHORT, count 1, value 6.
tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack(">I", 0)
payload = b"Exif\x00\x00" + tiff
app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
open(dst, "wb").write(data[:2] + app1 + data[2:])
PY
rm "$out/redblue.jpg"
ls -la "$out"
