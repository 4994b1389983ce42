// Which instruction set the kernels of this target may use; internal to CWandKernels.
#ifndef WAND_CPU_LEVEL_H
#define WAND_CPU_LEVEL_H

enum { WAND_LEVEL_PORTABLE = 0, WAND_LEVEL_AVX2 = 1, WAND_LEVEL_AVX512 = 2 };

/// The best level this CPU has, lowered by wand_kernels_force_portable.
int wand_cpu_level(void);

#endif
