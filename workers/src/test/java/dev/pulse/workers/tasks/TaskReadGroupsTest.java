package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Single reads gathered into one query each answer their own id, or nothing for an unknown one. */
class TaskReadGroupsTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void eachReadOfAGroupAnswersItsOwnTask() throws Exception {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            ids.add(kit.insert(kit.newTask("echo", i)).id());
        }
        ids.add(UUID.randomUUID()); // no such task
        ids.add(ids.get(3)); // read twice in one group
        ExecutorService threads = Executors.newFixedThreadPool(ids.size());
        // A group is served when full: exactly the reads sent here.
        try (TaskReadGroups reads =
                new TaskReadGroups(kit.tasks, Duration.ofMinutes(5), ids.size(), 1)) {
            List<Future<Optional<Task>>> answers = new ArrayList<>();
            for (UUID id : ids) {
                answers.add(threads.submit(() -> reads.find(id)));
            }
            for (int i = 0; i < ids.size(); i++) {
                Optional<Task> answer = answers.get(i).get();
                if (i == 30) {
                    assertThat(answer).isEmpty();
                } else {
                    assertThat(answer).get().extracting(Task::id).isEqualTo(ids.get(i));
                    assertThat(answer.get().priority()).isEqualTo(i == 31 ? 3 : i);
                }
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
