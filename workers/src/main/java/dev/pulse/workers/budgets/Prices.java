package dev.pulse.workers.budgets;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The price table of {@code PULSE_LLM_PRICES}: model → USD per million input and output tokens,
 * written {@code model=input/output} and separated by commas, such as {@code
 * gpt-4o=2.5/10,claude-sonnet-4=3/15}. A model not in the table costs nothing that budgets count.
 */
public record Prices(Map<String, Price> byModel) {

    public static final Prices NONE = new Prices(Map.of());
    private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);

    /** USD per million input and output tokens. */
    public record Price(BigDecimal input, BigDecimal output) {}

    /** Reads the table, adding a problem naming {@code key} for each bad entry. */
    public static Prices parse(String text, String key, List<String> problems) {
        if (text == null || text.isBlank()) {
            return NONE;
        }
        Map<String, Price> byModel = new TreeMap<>();
        for (String entry : text.split(",")) {
            String e = entry.trim();
            int eq = e.lastIndexOf('=');
            String[] prices = eq < 0 ? new String[0] : e.substring(eq + 1).split("/");
            try {
                if (eq < 1 || prices.length != 2) {
                    throw new NumberFormatException();
                }
                BigDecimal in = new BigDecimal(prices[0].trim());
                BigDecimal out = new BigDecimal(prices[1].trim());
                if (in.signum() < 0 || out.signum() < 0) {
                    throw new NumberFormatException();
                }
                byModel.put(e.substring(0, eq).trim(), new Price(in, out));
            } catch (NumberFormatException ex) {
                problems.add(
                        key
                                + ": '"
                                + e
                                + "' is not model=input/output (USD per million tokens), e.g. gpt-4o=2.5/10");
            }
        }
        return new Prices(Map.copyOf(byModel));
    }

    /** What {@code input} and {@code output} tokens of {@code model} cost; null if unpriced. */
    public BigDecimal cost(String model, long input, long output) {
        Price p = model == null ? null : byModel.get(model);
        if (p == null) {
            return null;
        }
        return p.input()
                .multiply(BigDecimal.valueOf(input))
                .add(p.output().multiply(BigDecimal.valueOf(output)))
                .divide(MILLION, MathContext.DECIMAL64);
    }
}
