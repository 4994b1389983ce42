// Device buffers: memory types, size-class pools, host <-> device and device <-> device copies.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wvk_context.h"

int wvk_fail(char *error, size_t size, const char *what, VkResult r) {
    wvk_set_error(error, size, what, r);
    return -1;
}

int wvk_fail_text(char *error, size_t size, const char *text) {
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
    if (r != VK_SUCCESS) { free(b); wvk_fail(error, error_size, "vkCreateBuffer", r); return NULL; }
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
        wvk_fail_text(error, error_size, "no suitable Vulkan memory type for a storage buffer");
        return NULL;
    }
    VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                  .memoryTypeIndex = type};
    r = ctx->vkAllocateMemory(ctx->device, &alloc, NULL, &b->memory);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
        // Give the pooled buffers back and try once more.
        wvk_trim_locked(ctx);
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
        if (r != VK_SUCCESS) { destroy_buffer(ctx, b); wvk_fail(error, error_size, "vkMapMemory", r); return NULL; }
    }
    b->size = size;
    b->host = host;
    return b;
}

// Called with the lock held.
struct wvk_buffer *wvk_acquire_locked(wvk_context *ctx, uint64_t bytes, int pooled, int host, char *error, size_t error_size) {
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
void wvk_recycle_locked(wvk_context *ctx, struct wvk_buffer *b) {
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

int wvk_busy(wvk_context *ctx, struct wvk_buffer *b) { return ctx->recording && b->used_batch == ctx->batch; }

void wvk_release_locked(wvk_context *ctx, struct wvk_buffer *b) {
    if (wvk_busy(ctx, b)) {
        b->next = ctx->deferred;
        ctx->deferred = b;
    } else {
        wvk_recycle_locked(ctx, b);
    }
}

wvk_buffer *wvk_buffer_create(wvk_context *ctx, uint64_t bytes, int pooled, char *error, size_t error_size) {
    pthread_mutex_lock(&ctx->lock);
    struct wvk_buffer *b = wvk_acquire_locked(ctx, bytes, pooled, 0, error, error_size);
    pthread_mutex_unlock(&ctx->lock);
    return b;
}

void wvk_buffer_release(wvk_context *ctx, wvk_buffer *b) {
    if (!b) return;
    pthread_mutex_lock(&ctx->lock);
    wvk_release_locked(ctx, b);
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
        if (wvk_busy(ctx, b)) status = wvk_flush_locked(ctx, error, error_size);
        if (status == 0) memcpy((char *)b->mapped + offset, source, bytes);
    } else {
        struct wvk_buffer *staging = wvk_acquire_locked(ctx, bytes, 1, 1, error, error_size);
        if (!staging) status = -1;
        if (status == 0) status = wvk_begin_locked(ctx, error, error_size);
        if (status == 0) {
            memcpy(staging->mapped, source, bytes);
            VkBufferCopy region = {.srcOffset = 0, .dstOffset = offset, .size = bytes};
            ctx->vkCmdCopyBuffer(ctx->commands, staging->buffer, b->buffer, 1, &region);
            wvk_barrier_between_ops(ctx);
            staging->used_batch = b->used_batch = ctx->batch;
        }
        if (staging) wvk_release_locked(ctx, staging);
        // Staging buffers live until the copies that read them have run: a model's weights
        // uploaded during one batch would otherwise all sit in host memory at once.
        if (status == 0) ctx->staging_pending += bytes;
        if (status == 0 && ctx->staging_pending > WVK_STAGING_LIMIT) status = wvk_flush_locked(ctx, error, error_size);
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
        if (wvk_busy(ctx, b)) status = wvk_flush_locked(ctx, error, error_size);
        if (status == 0) memcpy(destination, (const char *)b->mapped + offset, bytes);
    } else {
        struct wvk_buffer *staging = wvk_acquire_locked(ctx, bytes, 1, 1, error, error_size);
        if (!staging) status = -1;
        if (status == 0) status = wvk_begin_locked(ctx, error, error_size);
        if (status == 0) {
            VkBufferCopy region = {.srcOffset = offset, .dstOffset = 0, .size = bytes};
            ctx->vkCmdCopyBuffer(ctx->commands, b->buffer, staging->buffer, 1, &region);
            staging->used_batch = b->used_batch = ctx->batch;
            status = wvk_flush_locked(ctx, error, error_size);
        }
        if (status == 0) memcpy(destination, staging->mapped, bytes);
        if (staging) wvk_release_locked(ctx, staging);
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
    if (!regions) return wvk_fail_text(error, error_size, "out of host memory");
    for (uint32_t r = 0; r < rows; r++)
        regions[r] = (VkBufferCopy){.srcOffset = src_offset + r * src_pitch, .dstOffset = dst_offset + r * dst_pitch,
                                    .size = row_bytes};
    pthread_mutex_lock(&ctx->lock);
    int status = wvk_begin_locked(ctx, error, error_size);
    if (status == 0) {
        ctx->vkCmdCopyBuffer(ctx->commands, src->buffer, dst->buffer, rows, regions);
        wvk_barrier_between_ops(ctx);
        src->used_batch = dst->used_batch = ctx->batch;
    }
    pthread_mutex_unlock(&ctx->lock);
    free(regions);
    return status;
}

void wvk_trim_locked(wvk_context *ctx) {
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
    wvk_trim_locked(ctx);
    pthread_mutex_unlock(&ctx->lock);
}

uint64_t wvk_bytes_live(wvk_context *ctx) { return ctx->live_bytes; }
uint64_t wvk_bytes_pooled(wvk_context *ctx) { return ctx->pooled_bytes; }
uint64_t wvk_dispatch_count(wvk_context *ctx) { return ctx->dispatches; }
uint64_t wvk_submit_count(wvk_context *ctx) { return ctx->submits; }

