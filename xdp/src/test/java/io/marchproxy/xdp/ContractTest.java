package io.marchproxy.xdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The C/Java contract and the values operators type. */
class ContractTest {

  @Test
  void counterEnumMatchesTheIndexesInCountersH() throws Exception {
    String header = Files.readString(Path.of("src/main/c/counters.h"));
    Matcher m = Pattern.compile("MP_C_([A-Z0-9_]+)\\s*=\\s*(\\d+)\\s*,").matcher(header);
    Map<String, Integer> inC = new LinkedHashMap<>();
    while (m.find()) {
      inC.put(m.group(1), Integer.parseInt(m.group(2)));
    }
    Map<String, Integer> inJava = new LinkedHashMap<>();
    for (Counter c : Counter.values()) {
      inJava.put(c.name(), c.index());
    }
    assertThat(inJava).isEqualTo(inC);
    assertThat(header)
        .containsPattern("MP_COUNTER_COUNT\\s*=\\s*" + Counter.values().length + "\\s*,");
  }

  @Test
  void shippedObjectIsABpfElf() {
    byte[] elf = XdpProgram.shippedObject();
    assertThat(elf).startsWith(0x7f, 'E', 'L', 'F');
    assertThat(elf[18]).as("e_machine EM_BPF").isEqualTo((byte) 247);
  }

  @Test
  void cidrsParseAndMask() {
    assertThat(Cidr.parse("10.1.2.3/8")).hasToString("10.0.0.0/8");
    assertThat(Cidr.parse("192.0.2.7")).hasToString("192.0.2.7/32");
    assertThat(Cidr.parse("2001:db8::1/32")).hasToString("2001:db8:0:0:0:0:0:0/32");
    assertThat(Cidr.parse("10.0.0.0/8").isIpv4()).isTrue();
    assertThatThrownBy(() -> Cidr.parse("10.0.0.0/33")).hasMessageContaining("0..32");
    assertThatThrownBy(() -> Cidr.parse("example.com/8")).hasMessageContaining("not a CIDR");
  }

  @Test
  void budgetsParseAsRateAndBurst() {
    assertThat(Budget.parse("100/s:200")).isEqualTo(new Budget(100, 200));
    assertThat(Budget.parse("50/s")).isEqualTo(new Budget(50, 50));
    assertThat(new Budget(4, 3).intervalNanos()).isEqualTo(250_000_000L);
    assertThat(new Budget(4, 3).slackNanos()).isEqualTo(500_000_000L);
    assertThatThrownBy(() -> Budget.parse("0/s")).hasMessageContaining("rate must be");
    assertThatThrownBy(() -> Budget.parse("fast")).hasMessageContaining("100/s:200");
  }

  @Test
  void thisHostSupportsXdp() {
    XdpSupport.check();
  }
}
