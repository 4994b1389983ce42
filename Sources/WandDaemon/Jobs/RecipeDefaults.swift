import WandEngine

extension JobResolver {
    /// The few-step recipe in effect and what it changes. Precedence, most specific first: the
    /// job's own keys, the job's `recipe:`, the inbox's `defaults:` (its keys over its recipe),
    /// the model entry's `recipe:`, the family's official defaults. `none` switches a model's
    /// recipe off. Returns the recipe's name, nil for none.
    static func applyRecipe(job: String?, defaults: inout JobDefaults, model: ModelConfig?,
                            official: inout ModelDefaults) -> String? {
        let chosen = job ?? defaults.recipe ?? model?.recipe
        guard let name = chosen, name != "none", let recipe = FewStepRecipe.named(name) else { return nil }
        official.steps = recipe.steps
        official.shift = recipe.shift
        official.guidance = .single(Double(recipe.guidance))
        official.sampler = Sampler(rawValue: recipe.sampler.rawValue)!
        if job != nil {
            // The job asked for the recipe: the inbox's sampling defaults do not undo it.
            defaults.steps = nil; defaults.shift = nil; defaults.guidance = nil; defaults.sampler = nil
        }
        return recipe.name
    }
}
