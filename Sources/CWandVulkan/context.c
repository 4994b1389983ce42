// One logical device: buffers (pooled by size class), pipelines, and the recording command buffer.
//
// Work is recorded into a single command buffer, with a global memory barrier after every dispatch
// and copy, and submitted (then waited for) only when the host needs data, when the descriptor
// pool runs out, or on wvk_flush. Nothing is in flight between calls, so a buffer is busy exactly
// when the batch being recorded uses it; freeing a busy buffer waits for the next submit.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wvk_internal.h"

#define WVK_SETS_PER_POOL 1024
#define WVK_MAX_BINDINGS 8
#define WVK_PUSH_BYTES 128
#define WVK_CLASSES 256

struct wvk_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;          // host pointer when the memory is mapped (unified or staging)
    uint64_t size;         // allocated (the size class when pooled)
    uint64_t requested;
    uint64_t used_batch;   // the batch that last recorded a use of it
    int pooled;
    int host;              // a staging buffer
    struct wvk_buffer *next;
};

struct wvk_pipeline {
    VkPipeline pipeline;
    uint32_t bindings;
    struct wvk_pipeline *next;
};

struct wvk_context {
    pthread_mutex_t lock;
    wvk_device_info info;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    int force_staging;
    int map_device_buffers;
    uint32_t device_type_index, host_type_index;
    VkCommandPool command_pool;
    VkCommandBuffer commands;
    VkFence fence;
    VkDescriptorPool descriptor_pool;
    uint32_t sets_used;
    VkDescriptorSetLayout set_layouts[WVK_MAX_BINDINGS + 1];
    VkPipelineLayout pipeline_layouts[WVK_MAX_BINDINGS + 1];
    struct wvk_pipeline *pipelines;
    int recording;
    uint64_t batch;
    struct wvk_buffer *deferred;           // released while busy
    struct wvk_buffer *pool[2][WVK_CLASSES];  // [host][class] free lists
    uint64_t pooled_bytes, live_bytes, pool_cap;
    uint64_t dispatches, submits;
#define WVK_DECLARE_MEMBER(name) PFN_##name name;
    WVK_DEVICE_FUNCTIONS(WVK_DECLARE_MEMBER)
#undef WVK_DECLARE_MEMBER
};

static void trim_locked(wvk_context *ctx);

static int fail(char *error, size_t size, const char *what, VkResult r) {
    wvk_set_error(error, size, what, r);
    return -1;
}

static int fail_text(char *error, size_t size, const char *text) {
    if (error && size) snprintf(error, size, "%s", text);
    return -1;
}

// MARK: size classes

/// Four classes per power of two (1, 1.25, 1.5, 1.75 × 2^k): at most 25% of a pooled buffer unused.
static int size_class(uint64_t bytes, uint64_t *class_size) {
    if (bytes < 256) bytes = 256;
    int k = 63 - __builtin_clzll(bytes);
    uint64_t base = 1ull << k;
    for (int sub = 0; sub < 4; sub++) {
        uint64_t size = base + (base / 4) * sub;
        if (size >= bytes) { *class_size = size; return k * 4 + sub; }
    }
    *class_size = base << 1;
    return (k + 1) * 4;
}

// MARK: memory

static int find_memory_type(wvk_context *ctx, uint32_t bits, VkMemoryPropertyFlags want, uint32_t *out) {
    VkPhysicalDeviceMemoryProperties m;
    wvk_vkGetPhysicalDeviceMemoryProperties(ctx->physical, &m);
    for (uint32_t t = 0; t < m.memoryTypeCount; t++) {
        if ((bits & (1u << t)) && (m.memoryTypes[t].propertyFlags & want) == want) { *out = t; return 0; }
    }
    return -1;
}

static void destroy_buffer(wvk_context *ctx, struct wvk_buffer *b) {
    if (b->mapped) ctx->vkUnmapMemory(ctx->device, b->memory);
    ctx->vkDestroyBuffer(ctx->device, b->buffer, NULL);
    ctx->vkFreeMemory(ctx->device, b->memory, NULL);
    free(b);
}

static struct wvk_buffer *new_buffer(wvk_context *ctx, uint64_t size, int host, char *error, size_t error_size) {
    struct wvk_buffer *b = calloc(1, sizeof *b);
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
                               .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                        VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = ctx->vkCreateBuffer(ctx->device, &info, NULL, &b->buffer);
    if (r != VK_SUCCESS) { free(b); fail(error, error_size, "vkCreateBuffer", r); return NULL; }
    VkMemoryRequirements req;
    ctx->vkGetBufferMemoryRequirements(ctx->device, b->buffer, &req);
    uint32_t type;
    VkMemoryPropertyFlags want = host ? (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                                      : ctx->map_device_buffers
                                          ? (VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                             VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                                          : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    if (find_memory_type(ctx, req.memoryTypeBits, want, &type) != 0 &&
        (host || find_memory_type(ctx, req.memoryTypeBits, 0, &type) != 0)) {
        ctx->vkDestroyBuffer(ctx->device, b->buffer, NULL);
        free(b);
        fail_text(error, error_size, "no suitable Vulkan memory type for a storage buffer");
        return NULL;
    }
    VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                  .memoryTypeIndex = type};
    r = ctx->vkAllocateMemory(ctx->device, &alloc, NULL, &b->memory);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
        // Give the pooled buffers back and try once more.
        trim_locked(ctx);
        r = ctx->vkAllocateMemory(ctx->device, &alloc, NULL, &b->memory);
    }
    if (r != VK_SUCCESS) {
        ctx->vkDestroyBuffer(ctx->device, b->buffer, NULL);
        free(b);
        if (error && error_size)
            snprintf(error, error_size, "vkAllocateMemory of %llu bytes failed: %s", (unsigned long long)size,
                     wvk_result_name(r));
        return NULL;
    }
    ctx->vkBindBufferMemory(ctx->device, b->buffer, b->memory, 0);
    if (host || ctx->map_device_buffers) {
        r = ctx->vkMapMemory(ctx->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
        if (r != VK_SUCCESS) { destroy_buffer(ctx, b); fail(error, error_size, "vkMapMemory", r); return NULL; }
    }
    b->size = size;
    b->host = host;
    return b;
}

// Called with the lock held.
static struct wvk_buffer *acquire(wvk_context *ctx, uint64_t bytes, int pooled, int host, char *error, size_t error_size) {
    uint64_t size = bytes ? bytes : 4;
    int c = -1;
    if (pooled) {
        c = size_class(bytes, &size);
        if (c < WVK_CLASSES && ctx->pool[host][c]) {
            struct wvk_buffer *b = ctx->pool[host][c];
            ctx->pool[host][c] = b->next;
            b->next = NULL;
            b->requested = bytes;
            ctx->pooled_bytes -= b->size;
            ctx->live_bytes += b->size;
            return b;
        }
    }
    struct wvk_buffer *b = new_buffer(ctx, size, host, error, error_size);
    if (!b) return NULL;
    b->pooled = pooled && c < WVK_CLASSES;
    b->requested = bytes;
    ctx->live_bytes += b->size;
    return b;
}

// Called with the lock held, for a buffer no pending work uses.
static void recycle(wvk_context *ctx, struct wvk_buffer *b) {
    ctx->live_bytes -= b->size;
    uint64_t size;
    int c = b->pooled ? size_class(b->size, &size) : -1;
    if (c >= 0 && c < WVK_CLASSES && ctx->pooled_bytes + b->size <= ctx->pool_cap) {
        b->next = ctx->pool[b->host][c];
        ctx->pool[b->host][c] = b;
        ctx->pooled_bytes += b->size;
    } else {
        destroy_buffer(ctx, b);
    }
}

static int busy(wvk_context *ctx, struct wvk_buffer *b) { return ctx->recording && b->used_batch == ctx->batch; }

static void release_locked(wvk_context *ctx, struct wvk_buffer *b) {
    if (busy(ctx, b)) {
        b->next = ctx->deferred;
        ctx->deferred = b;
    } else {
        recycle(ctx, b);
    }
}

// MARK: recording

static void barrier(wvk_context *ctx, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier m = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                         .dstAccessMask = dst_access};
    ctx->vkCmdPipelineBarrier(ctx->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                              dst_stage, 0, 1, &m, 0, NULL, 0, NULL);
}

static void barrier_between_ops(wvk_context *ctx) {
    barrier(ctx, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                VK_ACCESS_TRANSFER_WRITE_BIT);
}

static int begin(wvk_context *ctx, char *error, size_t error_size) {
    if (ctx->recording) return 0;
    VkCommandBufferBeginInfo info = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                     .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VkResult r = ctx->vkBeginCommandBuffer(ctx->commands, &info);
    if (r != VK_SUCCESS) return fail(error, error_size, "vkBeginCommandBuffer", r);
    ctx->recording = 1;
    return 0;
}

static int flush_locked(wvk_context *ctx, char *error, size_t error_size) {
    int status = 0;
    if (ctx->recording) {
        barrier(ctx, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
        VkResult r = ctx->vkEndCommandBuffer(ctx->commands);
        if (r != VK_SUCCESS) status = fail(error, error_size, "vkEndCommandBuffer", r);
        if (status == 0) {
            VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                                   .pCommandBuffers = &ctx->commands};
            r = ctx->vkQueueSubmit(ctx->queue, 1, &submit, ctx->fence);
            if (r != VK_SUCCESS) status = fail(error, error_size, "vkQueueSubmit", r);
        }
        if (status == 0) {
            r = ctx->vkWaitForFences(ctx->device, 1, &ctx->fence, VK_TRUE, UINT64_MAX);
            if (r != VK_SUCCESS) status = fail(error, error_size, "vkWaitForFences", r);
            ctx->vkResetFences(ctx->device, 1, &ctx->fence);
        }
        ctx->vkResetCommandBuffer(ctx->commands, 0);
        ctx->recording = 0;
        ctx->submits++;
    }
    ctx->batch++;
    if (ctx->sets_used) {
        ctx->vkResetDescriptorPool(ctx->device, ctx->descriptor_pool, 0);
        ctx->sets_used = 0;
    }
    while (ctx->deferred) {
        struct wvk_buffer *b = ctx->deferred;
        ctx->deferred = b->next;
        b->next = NULL;
        recycle(ctx, b);
    }
    return status;
}

// MARK: public API

wvk_context *wvk_context_create(int index, int force_staging, char *error, size_t error_size) {
    VkPhysicalDevice *devices;
    int n = wvk_physical_devices(&devices, error, error_size);
    if (n < 0) return NULL;
    if (n == 0) { fail_text(error, error_size, "no Vulkan device (the loader found no driver)"); return NULL; }
    if (index < 0 || index >= n) { fail_text(error, error_size, "no Vulkan device with that index"); return NULL; }
    wvk_context *ctx = calloc(1, sizeof *ctx);
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->physical = devices[index];
    wvk_describe(ctx->physical, &ctx->info);
    ctx->force_staging = force_staging;
    ctx->map_device_buffers = ctx->info.unified_memory && !force_staging;
    ctx->batch = 1;
    uint64_t cap = ctx->info.device_local_bytes / 8;
    ctx->pool_cap = cap < (2ull << 30) ? cap : (2ull << 30);

    uint32_t families = 0;
    wvk_vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical, &families, NULL);
    VkQueueFamilyProperties *props = calloc(families ? families : 1, sizeof *props);
    wvk_vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical, &families, props);
    int family = -1;
    // Prefer a compute queue without graphics (async compute), else any compute queue.
    for (uint32_t i = 0; i < families && family < 0; i++)
        if ((props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(props[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) family = (int)i;
    for (uint32_t i = 0; i < families && family < 0; i++)
        if (props[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)i;
    free(props);
    if (family < 0) { free(ctx); fail_text(error, error_size, "the Vulkan device has no compute queue"); return NULL; }
    ctx->queue_family = (uint32_t)family;

    float priority = 1;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = ctx->queue_family, .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                               .pQueueCreateInfos = &queue};
    VkResult r = wvk_vkCreateDevice(ctx->physical, &info, NULL, &ctx->device);
    if (r != VK_SUCCESS) { free(ctx); fail(error, error_size, "vkCreateDevice", r); return NULL; }
#define WVK_LOAD_DEVICE(name) ctx->name = (PFN_##name)wvk_vkGetDeviceProcAddr(ctx->device, #name);
    WVK_DEVICE_FUNCTIONS(WVK_LOAD_DEVICE)
#undef WVK_LOAD_DEVICE
    ctx->vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);

    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = ctx->queue_family};
    VkCommandBufferAllocateInfo cb = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkDescriptorPoolSize sizes = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .descriptorCount = WVK_SETS_PER_POOL * WVK_MAX_BINDINGS};
    VkDescriptorPoolCreateInfo dp = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = WVK_SETS_PER_POOL, .poolSizeCount = 1, .pPoolSizes = &sizes};
    if ((r = ctx->vkCreateCommandPool(ctx->device, &pool, NULL, &ctx->command_pool)) != VK_SUCCESS ||
        (cb.commandPool = ctx->command_pool,
         (r = ctx->vkAllocateCommandBuffers(ctx->device, &cb, &ctx->commands)) != VK_SUCCESS) ||
        (r = ctx->vkCreateFence(ctx->device, &fence, NULL, &ctx->fence)) != VK_SUCCESS ||
        (r = ctx->vkCreateDescriptorPool(ctx->device, &dp, NULL, &ctx->descriptor_pool)) != VK_SUCCESS) {
        fail(error, error_size, "creating the command pool, fence or descriptor pool", r);
        wvk_context_destroy(ctx);
        return NULL;
    }
    for (uint32_t n_bind = 0; n_bind <= WVK_MAX_BINDINGS; n_bind++) {
        VkDescriptorSetLayoutBinding bindings[WVK_MAX_BINDINGS];
        for (uint32_t i = 0; i < n_bind; i++)
            bindings[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                         .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
        VkDescriptorSetLayoutCreateInfo sl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                              .bindingCount = n_bind, .pBindings = bindings};
        VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = WVK_PUSH_BYTES};
        if ((r = ctx->vkCreateDescriptorSetLayout(ctx->device, &sl, NULL, &ctx->set_layouts[n_bind])) != VK_SUCCESS) {
            fail(error, error_size, "vkCreateDescriptorSetLayout", r);
            wvk_context_destroy(ctx);
            return NULL;
        }
        VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                         .pSetLayouts = &ctx->set_layouts[n_bind], .pushConstantRangeCount = 1,
                                         .pPushConstantRanges = &push};
        if ((r = ctx->vkCreatePipelineLayout(ctx->device, &pl, NULL, &ctx->pipeline_layouts[n_bind])) != VK_SUCCESS) {
            fail(error, error_size, "vkCreatePipelineLayout", r);
            wvk_context_destroy(ctx);
            return NULL;
        }
    }
    return ctx;
}

void wvk_context_destroy(wvk_context *ctx) {
    if (!ctx) return;
    if (ctx->device) {
        char ignored[64];
        flush_locked(ctx, ignored, sizeof ignored);
        ctx->vkDeviceWaitIdle(ctx->device);
        trim_locked(ctx);
        for (struct wvk_pipeline *p = ctx->pipelines; p;) {
            struct wvk_pipeline *next = p->next;
            ctx->vkDestroyPipeline(ctx->device, p->pipeline, NULL);
            free(p);
            p = next;
        }
        for (int i = 0; i <= WVK_MAX_BINDINGS; i++) {
            if (ctx->pipeline_layouts[i]) ctx->vkDestroyPipelineLayout(ctx->device, ctx->pipeline_layouts[i], NULL);
            if (ctx->set_layouts[i]) ctx->vkDestroyDescriptorSetLayout(ctx->device, ctx->set_layouts[i], NULL);
        }
        if (ctx->descriptor_pool) ctx->vkDestroyDescriptorPool(ctx->device, ctx->descriptor_pool, NULL);
        if (ctx->fence) ctx->vkDestroyFence(ctx->device, ctx->fence, NULL);
        if (ctx->command_pool) ctx->vkDestroyCommandPool(ctx->device, ctx->command_pool, NULL);
        ctx->vkDestroyDevice(ctx->device, NULL);
    }
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

void wvk_context_info(wvk_context *ctx, wvk_device_info *info) { *info = ctx->info; }

wvk_buffer *wvk_buffer_create(wvk_context *ctx, uint64_t bytes, int pooled, char *error, size_t error_size) {
    pthread_mutex_lock(&ctx->lock);
    struct wvk_buffer *b = acquire(ctx, bytes, pooled, 0, error, error_size);
    pthread_mutex_unlock(&ctx->lock);
    return b;
}

void wvk_buffer_release(wvk_context *ctx, wvk_buffer *b) {
    if (!b) return;
    pthread_mutex_lock(&ctx->lock);
    release_locked(ctx, b);
    pthread_mutex_unlock(&ctx->lock);
}

uint64_t wvk_buffer_size(const wvk_buffer *b) { return b->requested; }

static int check_range(const struct wvk_buffer *b, uint64_t offset, uint64_t bytes, char *error, size_t error_size) {
    if (offset > b->requested || bytes > b->requested - offset) {
        if (error && error_size)
            snprintf(error, error_size, "access of %llu bytes at %llu outside a buffer of %llu bytes",
                     (unsigned long long)bytes, (unsigned long long)offset, (unsigned long long)b->requested);
        return -1;
    }
    return 0;
}

int wvk_buffer_write(wvk_context *ctx, wvk_buffer *b, uint64_t offset, const void *source, uint64_t bytes,
                     char *error, size_t error_size) {
    if (check_range(b, offset, bytes, error, error_size) != 0 || bytes == 0) return bytes == 0 ? 0 : -1;
    int status = 0;
    pthread_mutex_lock(&ctx->lock);
    if (b->mapped) {
        // Recorded work may still read the old contents: run it first.
        if (busy(ctx, b)) status = flush_locked(ctx, error, error_size);
        if (status == 0) memcpy((char *)b->mapped + offset, source, bytes);
    } else {
        struct wvk_buffer *staging = acquire(ctx, bytes, 1, 1, error, error_size);
        if (!staging) status = -1;
        if (status == 0) status = begin(ctx, error, error_size);
        if (status == 0) {
            memcpy(staging->mapped, source, bytes);
            VkBufferCopy region = {.srcOffset = 0, .dstOffset = offset, .size = bytes};
            ctx->vkCmdCopyBuffer(ctx->commands, staging->buffer, b->buffer, 1, &region);
            barrier_between_ops(ctx);
            staging->used_batch = b->used_batch = ctx->batch;
        }
        if (staging) release_locked(ctx, staging);
    }
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

int wvk_buffer_read(wvk_context *ctx, wvk_buffer *b, uint64_t offset, void *destination, uint64_t bytes,
                    char *error, size_t error_size) {
    if (check_range(b, offset, bytes, error, error_size) != 0 || bytes == 0) return bytes == 0 ? 0 : -1;
    int status = 0;
    pthread_mutex_lock(&ctx->lock);
    if (b->mapped) {
        if (busy(ctx, b)) status = flush_locked(ctx, error, error_size);
        if (status == 0) memcpy(destination, (const char *)b->mapped + offset, bytes);
    } else {
        struct wvk_buffer *staging = acquire(ctx, bytes, 1, 1, error, error_size);
        if (!staging) status = -1;
        if (status == 0) status = begin(ctx, error, error_size);
        if (status == 0) {
            VkBufferCopy region = {.srcOffset = offset, .dstOffset = 0, .size = bytes};
            ctx->vkCmdCopyBuffer(ctx->commands, b->buffer, staging->buffer, 1, &region);
            staging->used_batch = b->used_batch = ctx->batch;
            status = flush_locked(ctx, error, error_size);
        }
        if (status == 0) memcpy(destination, staging->mapped, bytes);
        if (staging) release_locked(ctx, staging);
    }
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

int wvk_buffer_copy(wvk_context *ctx, wvk_buffer *src, uint64_t src_offset, uint64_t src_pitch, wvk_buffer *dst,
                    uint64_t dst_offset, uint64_t dst_pitch, uint64_t row_bytes, uint32_t rows, char *error,
                    size_t error_size) {
    if (rows == 0 || row_bytes == 0) return 0;
    uint64_t src_span = src_pitch * (rows - 1) + row_bytes, dst_span = dst_pitch * (rows - 1) + row_bytes;
    if (check_range(src, src_offset, src_span, error, error_size) != 0 ||
        check_range(dst, dst_offset, dst_span, error, error_size) != 0)
        return -1;
    VkBufferCopy *regions = malloc(sizeof(VkBufferCopy) * rows);
    if (!regions) return fail_text(error, error_size, "out of host memory");
    for (uint32_t r = 0; r < rows; r++)
        regions[r] = (VkBufferCopy){.srcOffset = src_offset + r * src_pitch, .dstOffset = dst_offset + r * dst_pitch,
                                    .size = row_bytes};
    pthread_mutex_lock(&ctx->lock);
    int status = begin(ctx, error, error_size);
    if (status == 0) {
        ctx->vkCmdCopyBuffer(ctx->commands, src->buffer, dst->buffer, rows, regions);
        barrier_between_ops(ctx);
        src->used_batch = dst->used_batch = ctx->batch;
    }
    pthread_mutex_unlock(&ctx->lock);
    free(regions);
    return status;
}

wvk_pipeline *wvk_pipeline_create(wvk_context *ctx, const uint32_t *code, size_t words, uint32_t bindings,
                                  char *error, size_t error_size) {
    if (bindings > WVK_MAX_BINDINGS) { fail_text(error, error_size, "too many buffer bindings"); return NULL; }
    pthread_mutex_lock(&ctx->lock);
    wvk_pipeline *out = NULL;
    VkShaderModuleCreateInfo sm = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = words * 4, .pCode = code};
    VkShaderModule module;
    VkResult r = ctx->vkCreateShaderModule(ctx->device, &sm, NULL, &module);
    if (r != VK_SUCCESS) {
        fail(error, error_size, "vkCreateShaderModule", r);
    } else {
        VkComputePipelineCreateInfo info = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                      .module = module, .pName = "main"},
            .layout = ctx->pipeline_layouts[bindings]};
        VkPipeline pipeline;
        r = ctx->vkCreateComputePipelines(ctx->device, VK_NULL_HANDLE, 1, &info, NULL, &pipeline);
        ctx->vkDestroyShaderModule(ctx->device, module, NULL);
        if (r != VK_SUCCESS) {
            fail(error, error_size, "vkCreateComputePipelines", r);
        } else {
            out = calloc(1, sizeof *out);
            out->pipeline = pipeline;
            out->bindings = bindings;
            out->next = ctx->pipelines;
            ctx->pipelines = out;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return out;
}

int wvk_dispatch(wvk_context *ctx, wvk_pipeline *p, wvk_buffer *const *buffers, uint32_t count, const void *push,
                 uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, char *error, size_t error_size) {
    if (count != p->bindings) return fail_text(error, error_size, "wrong number of buffers for the pipeline");
    if (push_bytes > WVK_PUSH_BYTES) return fail_text(error, error_size, "push constants over 128 bytes");
    for (uint32_t i = 0; i < count; i++) {
        if (buffers[i]->requested > ctx->info.max_storage_buffer_range) {
            if (error && error_size)
                snprintf(error, error_size, "a buffer of %llu bytes exceeds this device's maxStorageBufferRange (%llu)",
                         (unsigned long long)buffers[i]->requested, (unsigned long long)ctx->info.max_storage_buffer_range);
            return -1;
        }
    }
    if (gx == 0 || gy == 0 || gz == 0) return 0;
    pthread_mutex_lock(&ctx->lock);
    int status = 0;
    if (ctx->sets_used == WVK_SETS_PER_POOL) status = flush_locked(ctx, error, error_size);
    if (status == 0) status = begin(ctx, error, error_size);
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (status == 0) {
        VkDescriptorSetAllocateInfo a = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                         .descriptorPool = ctx->descriptor_pool, .descriptorSetCount = 1,
                                         .pSetLayouts = &ctx->set_layouts[count]};
        VkResult r = ctx->vkAllocateDescriptorSets(ctx->device, &a, &set);
        if (r != VK_SUCCESS) status = fail(error, error_size, "vkAllocateDescriptorSets", r);
        else ctx->sets_used++;
    }
    if (status == 0) {
        VkDescriptorBufferInfo infos[WVK_MAX_BINDINGS];
        VkWriteDescriptorSet writes[WVK_MAX_BINDINGS];
        for (uint32_t i = 0; i < count; i++) {
            uint64_t range = buffers[i]->size < ctx->info.max_storage_buffer_range ? buffers[i]->size
                                                                                   : ctx->info.max_storage_buffer_range;
            infos[i] = (VkDescriptorBufferInfo){.buffer = buffers[i]->buffer, .offset = 0, .range = range};
            writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set,
                                               .dstBinding = i, .descriptorCount = 1,
                                               .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                               .pBufferInfo = &infos[i]};
            buffers[i]->used_batch = ctx->batch;
        }
        if (count) ctx->vkUpdateDescriptorSets(ctx->device, count, writes, 0, NULL);
        ctx->vkCmdBindPipeline(ctx->commands, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
        ctx->vkCmdBindDescriptorSets(ctx->commands, VK_PIPELINE_BIND_POINT_COMPUTE, ctx->pipeline_layouts[count], 0, 1,
                                     &set, 0, NULL);
        if (push_bytes)
            ctx->vkCmdPushConstants(ctx->commands, ctx->pipeline_layouts[count], VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                    push_bytes, push);
        ctx->vkCmdDispatch(ctx->commands, gx, gy, gz);
        barrier_between_ops(ctx);
        ctx->dispatches++;
    }
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

int wvk_flush(wvk_context *ctx, char *error, size_t error_size) {
    pthread_mutex_lock(&ctx->lock);
    int status = flush_locked(ctx, error, error_size);
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

static void trim_locked(wvk_context *ctx) {
    for (int h = 0; h < 2; h++) {
        for (int c = 0; c < WVK_CLASSES; c++) {
            while (ctx->pool[h][c]) {
                struct wvk_buffer *b = ctx->pool[h][c];
                ctx->pool[h][c] = b->next;
                ctx->pooled_bytes -= b->size;
                destroy_buffer(ctx, b);
            }
        }
    }
}

void wvk_trim(wvk_context *ctx) {
    pthread_mutex_lock(&ctx->lock);
    trim_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);
}

uint64_t wvk_bytes_live(wvk_context *ctx) { return ctx->live_bytes; }
uint64_t wvk_bytes_pooled(wvk_context *ctx) { return ctx->pooled_bytes; }
uint64_t wvk_dispatch_count(wvk_context *ctx) { return ctx->dispatches; }
uint64_t wvk_submit_count(wvk_context *ctx) { return ctx->submits; }
