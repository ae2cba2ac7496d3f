import Testing
@testable import Kernels

@Test func ggmlTypeSizesMatchGGML() {
    #expect(GGMLType.q8_0.rowBytes(64) == 68)
    #expect(GGMLType.q4_0.rowBytes(32) == 18)
    #expect(GGMLType.q4_0.rowBytes(33) == nil)
    #expect(GGMLType.f16.rowBytes(3) == 6)
}

@Test func ggmlTypeNamesAreGGMLs() {
    #expect(GGMLType.q8_0.description == "Q8_0")
    #expect(GGMLType.q4_K.description == "Q4_K")
    #expect(GGMLType.allCases.allSatisfy { !$0.description.isEmpty })
    #expect(GGMLType.iq2_xxs.description == "IQ2_XXS")
    #expect(GGMLType.bf16.description == "BF16")
    #expect(Set(GGMLType.allCases.map(\.description)).count == GGMLType.allCases.count)
}
