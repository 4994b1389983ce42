// The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it (standard
// init_genrand seeding with the low 32 bits of the seed, standard tempering).
public struct MT19937: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    public init(seed: UInt32) {
        state[0] = seed
        for j in 1..<624 {
            let prev = state[j - 1]
            state[j] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(j)
        }
        index = 624
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var next = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { next ^= 0x9908_B0DF }
            state[i] = next
        }
        index = 0
    }

    public mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }
}
