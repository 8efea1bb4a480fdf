package dev.pulse.executors;

public record Availability(boolean available, String reason) {

    public static final Availability AVAILABLE = new Availability(true, null);

    public static Availability unavailable(String reason) {
        return new Availability(false, reason);
    }
}
