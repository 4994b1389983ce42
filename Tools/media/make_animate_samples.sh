#!/bin/sh
# Makes the small driving videos of Samples/animate.yaml with the ffmpeg CLI (stand-ins for what the
# official preprocessing writes: src_face.mp4 512x512 face crops, src_bg.mp4, src_mask.mp4), each with
# the 9 frames at 30 fps of Samples/pose.mp4. Validation only: they are not a real person.
# Usage: sh Tools/media/make_animate_samples.sh
set -eu
out="$(dirname "$0")/../../Samples"
ff="ffmpeg -hide_banner -loglevel error -y"
x264="-c:v libx264 -pix_fmt yuv420p -crf 28 -preset veryslow -frames:v 9"
# A face: a light disc with two eyes that drift right frame by frame, on grey.
$ff -f lavfi -i "color=c=gray:s=512x512:r=30:d=1,format=gray,geq=lum='if(lt(hypot(X-256,Y-270),190),210,90)-if(lt(hypot(X-190-4*N,Y-220),22)+lt(hypot(X-322-4*N,Y-220),22),170,0)'" $x264 "$out/face.mp4"
# The scene without the person, and the character's region (white) moving with the pose.
$ff -f lavfi -i "gradients=s=64x64:r=30:d=1:c0=0x406080:c1=0xc0a060:seed=7" $x264 "$out/background.mp4"
$ff -f lavfi -i "color=c=black:s=64x64:r=30:d=1,format=gray,geq=lum='if(between(X,20+N,40+N)*between(Y,12,56),255,0)'" $x264 "$out/mask.mp4"
ls -la "$out"/face.mp4 "$out"/background.mp4 "$out"/mask.mp4
