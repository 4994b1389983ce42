#version 450
#define DMAX 64
#include "attention_core.glsl"
