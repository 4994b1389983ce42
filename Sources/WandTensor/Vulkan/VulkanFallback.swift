// Every ComputeBackend op has a Vulkan kernel except interpolate's area, bilinear and bicubic
// modes (VulkanConv.swift), which run on `fallback` over host copies.
