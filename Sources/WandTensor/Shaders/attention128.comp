#version 450
#define DMAX 128
#include "attention_core.glsl"
