"""tg.distributions: probability distributions with PyTorch's API (torch.distributions).

    from tinygrad_edu import distributions as D
    q = D.Normal(mu, sigma)                       # batch_shape = mu.shape
    z = q.rsample()                               # z = mu + sigma·ε: gradients flow to mu, sigma
    kl = D.kl_divergence(q, D.Normal(0.0, 1.0))   # closed form, differentiable
    loss = -(D.Bernoulli(logits=decoder(z)).log_prob(x).sum(-1) - kl.sum(-1)).mean()   # a VAE's ELBO

Where to read what:
    distribution.py   the base class: batch/event shapes, sample vs rsample, validation
    continuous.py     Normal, HalfNormal, Uniform, Exponential, Laplace, Cauchy, StudentT
    gamma.py          Gamma, Chi2, InverseGamma, Beta, Dirichlet, FisherSnedecor and the implicitly
                      reparameterised gamma sampler
    univariate.py     Gumbel, Weibull, Pareto, HalfCauchy, Kumaraswamy, ContinuousBernoulli,
                      GeneralizedPareto (rsample = icdf(uniform))
    counts.py         Multinomial, NegativeBinomial
    discrete.py       Bernoulli, Categorical, OneHotCategorical(StraightThrough), Binomial, Geometric, Poisson
    multivariate.py   MultivariateNormal, Independent, MixtureSameFamily;  lowrank.py  LowRankMultivariateNormal
    transformed.py    TransformedDistribution, LogNormal, LogisticNormal;  transforms/  the transforms
    matrices.py       Wishart (positive-definite matrices; Bartlett sampler), LKJCholesky (onion method)
    circular.py       VonMises (angles; Best–Fisher rejection sampler)
    relaxed.py        RelaxedBernoulli, RelaxedOneHotCategorical (Gumbel-softmax)
    kl.py             kl_divergence, register_kl;  kl_families.py  the cross-family and low-rank pairs
    constraints.py    supports and parameter sets;  constraint_registry.py  biject_to, transform_to
Samples come from tinygrad_edu's generator (tg.manual_seed), so they differ from PyTorch's draws.
"""

from . import (
    constraint_registry,
    constraints,
    exp_family,
    kl_families,  # noqa: F401 - registers the cross-family KL divergences
    transforms,
)
from .circular import VonMises
from .constraint_registry import biject_to, transform_to
from .continuous import Cauchy, Exponential, HalfNormal, Laplace, Normal, StudentT, Uniform
from .counts import Multinomial, NegativeBinomial
from .discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import Beta, Chi2, Dirichlet, FisherSnedecor, Gamma, InverseGamma
from .kl import kl_divergence, register_kl
from .lowrank import LowRankMultivariateNormal
from .matrices import LKJCholesky, Wishart
from .multivariate import Independent, MixtureSameFamily, MultivariateNormal
from .relaxed import ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedOneHotCategorical
from .transformed import LogisticNormal, LogNormal, TransformedDistribution
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    identity_transform,
)
from .univariate import ContinuousBernoulli, GeneralizedPareto, Gumbel, HalfCauchy, Kumaraswamy, Pareto, Weibull

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "CatTransform",
    "Categorical",
    "Cauchy",
    "Chi2",
    "ComposeTransform",
    "ContinuousBernoulli",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "Dirichlet",
    "Distribution",
    "ExpRelaxedCategorical",
    "ExpTransform",
    "Exponential",
    "ExponentialFamily",
    "FisherSnedecor",
    "Gamma",
    "GeneralizedPareto",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Independent",
    "IndependentTransform",
    "InverseGamma",
    "Kumaraswamy",
    "LKJCholesky",
    "Laplace",
    "LogNormal",
    "LogisticNormal",
    "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal",
    "LowerCholeskyTransform",
    "MixtureSameFamily",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "OneHotCategorical",
    "OneHotCategoricalStraightThrough",
    "Pareto",
    "Poisson",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StackTransform",
    "StickBreakingTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
    "VonMises",
    "Weibull",
    "Wishart",
    "biject_to",
    "constraint_registry",
    "constraints",
    "exp_family",
    "identity_transform",
    "kl_divergence",
    "register_kl",
    "transform_to",
    "transforms",
]
