package io.marchproxy.xds.translate;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every input document × every data-plane kind against its golden file. After an intended change:
 * {@code ./mvnw -pl core,xds-service install -Dtest=TranslatorGoldenTest -Dgolden.update=true},
 * then review the diff of {@code src/test/resources/translate/out/} like any other code.
 */
class TranslatorGoldenTest {

  @TestFactory
  Stream<DynamicTest> everyCaseAndKindMatchesItsGoldenFile() {
    List<DynamicTest> tests = new ArrayList<>();
    for (String name : GoldenFiles.cases()) {
      for (String kind : GoldenFiles.KINDS) {
        tests.add(
            DynamicTest.dynamicTest(
                name + "." + kind,
                () -> {
                  String actual =
                      GoldenFiles.yaml(
                          Translator.translate(
                              GoldenFiles.document(name), GoldenFiles.plane(name, kind)));
                  Path golden = GoldenFiles.output(name, kind);
                  if (GoldenFiles.updating()) {
                    Files.createDirectories(golden.getParent());
                    Files.writeString(golden, actual);
                  }
                  assertThat(golden)
                      .as("golden file (create it with -Dgolden.update=true)")
                      .exists();
                  assertThat(actual).isEqualTo(Files.readString(golden));
                }));
      }
    }
    return tests.stream();
  }

  @Test
  void everyGoldenFileBelongsToAnInputDocument() throws IOException {
    Set<String> expected = new TreeSet<>();
    for (String name : GoldenFiles.cases()) {
      for (String kind : GoldenFiles.KINDS) {
        expected.add(name + "." + kind + ".yaml");
      }
    }
    Set<String> present = new TreeSet<>();
    try (Stream<Path> files = Files.list(GoldenFiles.OUT)) {
      files.forEach(p -> present.add(p.getFileName().toString()));
    }
    if (GoldenFiles.updating()) {
      for (String stale : present) {
        if (!expected.contains(stale)) {
          Files.delete(GoldenFiles.OUT.resolve(stale));
        }
      }
      return;
    }
    assertThat(present).isEqualTo(expected);
  }
}
