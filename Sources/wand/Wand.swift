import ArgumentParser

@main
struct Wand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wand",
        abstract: "Turns files dropped into folders into videos made by the Wan2.2 model family.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, ValidateCommand.self, GenerateCommand.self,
                      StatusCommand.self, QueueCommand.self, CancelCommand.self, RetryCommand.self,
                      PauseCommand.self, ResumeCommand.self, ReloadCommand.self,
                      InspectCommand.self, DetectCommand.self, WatermarkSampleCommand.self, Bench.self,
                      DevicesCommand.self]
    )
}
