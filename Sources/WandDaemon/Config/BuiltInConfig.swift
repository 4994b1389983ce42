/// The configuration `wand validate` uses when no --config is given and /etc/wand/wand.yaml does
/// not exist: the official model names with their official sizes, so job files can be checked
/// before a daemon is set up.
public enum BuiltInConfig {
    public static let yaml = """
        wand-config: 1
        state_dir: /var/lib/wand
        inboxes:
          - path: /srv/wand/inbox
        outbox: /srv/wand/outbox
        failed: /srv/wand/failed
        models:
          t2v-a14b: {path: /srv/models/Wan2.2-T2V-A14B, sizes: [1280x720, 720x1280, 832x480, 480x832]}
          i2v-a14b: {path: /srv/models/Wan2.2-I2V-A14B, sizes: [1280x720, 720x1280, 832x480, 480x832]}
          ti2v-5b: {path: /srv/models/Wan2.2-TI2V-5B, sizes: [1280x704, 704x1280]}
          s2v-14b: {path: /srv/models/Wan2.2-S2V-14B, sizes: [1280x720, 720x1280, 832x480, 480x832, 1024x704, 704x1024]}
          animate-14b: {path: /srv/models/Wan2.2-Animate-14B, sizes: [1280x720, 720x1280]}
        defaults: {t2v: t2v-a14b, i2v: i2v-a14b, ti2v: ti2v-5b, s2v: s2v-14b, animate: animate-14b, edit: t2v-a14b}
        """

    public static func config() -> DaemonConfig {
        // The text above is part of the program; a failure here is a bug caught by the tests.
        try! ConfigLoader.parse(yaml, path: "(built-in defaults)")
    }
}
