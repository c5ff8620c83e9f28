"""Task 6 - Concept questions on batch normalisation, ResNet and DenseNet
(Dive into Deep Learning, sections 7.5-7.7).

Answer each question below in the dictionary ``ANSWERS`` at the end of this file:
a capital letter such as ``"B"`` for a multiple-choice question, a number such as
``12`` for a numeric one. Leave an answer as ``None`` to skip it. Each question is
worth the same; one wrong answer costs only its own points.

q1. What does ``nn.BatchNorm2d(6)`` create?
    A. A batch normalisation layer for minibatches of exactly 6 examples.
    B. A batch normalisation layer for inputs with 6 channels: it learns 6 scales and
       6 shifts, and keeps 6 moving means and 6 moving variances.
    C. A batch normalisation layer that normalises over windows of 6x6 pixels.
    D. Six batch normalisation layers applied one after another.

q2. Which statement about batch normalisation is WRONG?
    A. In training mode, a batch normalisation layer normalises with the mean and
       variance of the current minibatch.
    B. In prediction mode, it normalises with the moving averages of the mean and
       variance gathered during training.
    C. The scale gamma and the shift beta are hyperparameters, chosen before training
       like the learning rate.
    D. After a convolution, it computes one mean and one variance per channel, over the
       examples of the minibatch and all spatial positions.

q3. Which statement about ResNet is WRONG?
    A. Thanks to the residual connections, adding more and more layers keeps improving
       the accuracy of a ResNet.
    B. A residual block computes ``relu(g(x) + x)``, so its layers only have to learn the
       residual ``g(x) = f(x) - x``; the identity is easy to learn (``g = 0``).
    C. A 1x1 convolution on the shortcut is needed when a block changes the number of
       channels or the height and width, so that the two branches can be added.
    D. When the added layers can represent the identity, the functions a deeper network
       can represent include those of the shallower one (nested function classes).

q4. What is the 1x1 convolution in a DenseNet transition layer for?
    A. It halves the height and width of the feature maps.
    B. It replaces the concatenation of the dense block with an addition.
    C. It is the classifier at the end of the network.
    D. It reduces the number of channels, which every dense block increases, to keep the
       model's size and cost under control.

q5. A dense block has 3 convolution blocks with 8 output channels each (growth rate 8).
    How many channels does it output for an input with 3 channels? (a number)
"""

### BEGIN SOLUTION
ANSWERS = {
    "q1": "B",
    "q2": "C",
    "q3": "A",
    "q4": "D",
    "q5": 27,
}
### END SOLUTION
### BEGIN STUB
# ANSWERS = {
#     "q1": None,  # a letter: "A", "B", "C" or "D"
#     "q2": None,  # a letter
#     "q3": None,  # a letter
#     "q4": None,  # a letter
#     "q5": None,  # a number
# }
### END STUB
